{
  "targets": [
    {
      "target_name": "manhattan",
      "sources": ["src/manhattan.cc"],
      # Include paths come from the environment when built by scripts/build-plugins.ts, so a
      # plugin folder anywhere builds against this repository's SDK; the fallbacks serve a
      # plain `node-gyp rebuild` inside native/manhattan.
      "include_dirs": [
        "<!(node -p \"process.env.HYPERCUBE_NODE_ADDON_API_INCLUDE || require('node-addon-api').include_dir\")",
        "<!(node -p \"process.env.HYPERCUBE_PLUGIN_SDK_INCLUDE || '../sdk/include'\")"
      ],
      # A pinned Node-API version: one binary loads under Node and Electron alike.
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      # -fno-math-errno lets sqrt inline; no -ffast-math, which would break the NaN/Inf rule.
      "cflags_cc": ["-fexceptions", "-O3", "-fno-math-errno", "-fvisibility=hidden"],
      # The plugin's own folder is on its library search path ($ORIGIN / @loader_path).
      "ldflags": ["-Wl,-rpath,'$$ORIGIN'"],
      "conditions": [
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
            "GCC_OPTIMIZATION_LEVEL": "3",
            "OTHER_LDFLAGS": ["-Wl,-rpath,@loader_path"]
          }
        }],
        ["OS=='win'", { "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "Optimization": 2 } } }]
      ]
    }
  ]
}
