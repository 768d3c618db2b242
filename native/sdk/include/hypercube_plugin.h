// Hypercube geometric plugin SDK.
//
// A plugin is one distance kernel; this header turns it into the Node-API module the
// plugin host expects (identity, distance, distances, knn, optional initialize/shutdown),
// with argument validation and the NaN/±Inf rule applied in one place so every plugin
// behaves the same at its edges.
//
// A kernel is a struct with:
//   static double Distance(const A* a, const B* b, size_t dim);   // any dimension
//   static double Distance4(const A* a, const B* b);              // the common 4-D case
// templated on the element types it accepts (float or double), and the plugin calls
//   HYPERCUBE_GEOMETRIC_PLUGIN(KernelType, "name", "1.0.0", isMetric)
//
// The NaN/±Inf rule (documented in README-plugins.md, checked by plugin:check):
//   if any coordinate of either vector is NaN or ±Inf, the distance is NaN;
//   finite inputs whose distance overflows give +Inf;
//   knn orders NaN distances after every number (they are "infinitely unknown"), and
//   breaks ties by the lower point index.
// Kernels only compute; the SDK enforces the rule on the rare non-finite result, so the
// fast path pays nothing for it.

#ifndef HYPERCUBE_PLUGIN_H
#define HYPERCUBE_PLUGIN_H

#include <napi.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <string>
#include <utility>
#include <vector>

#define HYPERCUBE_PLUGIN_API_VERSION 1

namespace hypercube {

struct Identity {
  const char* name;
  const char* version;
  bool isMetric;
};

// A Float32Array or Float64Array viewed without copying.
struct VectorView {
  const void* data = nullptr;
  size_t length = 0;
  bool isFloat32 = false;
};

inline const char* DescribeValue(const Napi::Value& value) {
  if (value.IsUndefined()) return "undefined";
  if (value.IsNull()) return "null";
  if (value.IsNumber()) return "a number";
  if (value.IsString()) return "a string";
  if (value.IsBoolean()) return "a boolean";
  if (value.IsArray()) return "an Array (use a Float32Array or Float64Array)";
  if (value.IsTypedArray()) {
    switch (value.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_int8_array: return "an Int8Array";
      case napi_uint8_array: return "a Uint8Array";
      case napi_uint8_clamped_array: return "a Uint8ClampedArray";
      case napi_int16_array: return "an Int16Array";
      case napi_uint16_array: return "a Uint16Array";
      case napi_int32_array: return "an Int32Array";
      case napi_uint32_array: return "a Uint32Array";
      case napi_bigint64_array: return "a BigInt64Array";
      case napi_biguint64_array: return "a BigUint64Array";
      default: return "a typed array of another type";
    }
  }
  if (value.IsFunction()) return "a function";
  if (value.IsObject()) return "an object";
  return "an unsupported value";
}

[[noreturn]] inline void ThrowTypeError(Napi::Env env, const std::string& message) {
  throw Napi::TypeError::New(env, message);
}

[[noreturn]] inline void ThrowRangeError(Napi::Env env, const std::string& message) {
  throw Napi::RangeError::New(env, message);
}

inline VectorView ReadVector(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg) {
  Napi::Env env = info.Env();
  Napi::Value value = info[index];
  if (!value.IsTypedArray()) {
    ThrowTypeError(env, std::string(fn) + ": " + arg + " must be a Float32Array or Float64Array, got " +
                            DescribeValue(value));
  }
  Napi::TypedArray typed = value.As<Napi::TypedArray>();
  napi_typedarray_type type = typed.TypedArrayType();
  if (type != napi_float32_array && type != napi_float64_array) {
    ThrowTypeError(env, std::string(fn) + ": " + arg + " must be a Float32Array or Float64Array, got " +
                            DescribeValue(value));
  }
  VectorView view;
  view.isFloat32 = type == napi_float32_array;
  view.length = typed.ElementLength();
  uint8_t* base = static_cast<uint8_t*>(typed.ArrayBuffer().Data());
  view.data = base == nullptr ? nullptr : base + typed.ByteOffset();
  if (view.length == 0) {
    ThrowRangeError(env, std::string(fn) + ": " + arg + " is empty");
  }
  return view;
}

inline size_t ReadPositiveInteger(const Napi::CallbackInfo& info, size_t index, const char* fn, const char* arg) {
  Napi::Env env = info.Env();
  Napi::Value value = info[index];
  if (!value.IsNumber()) {
    ThrowTypeError(env, std::string(fn) + ": " + arg + " must be a positive integer, got " + DescribeValue(value));
  }
  double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= 1) || number != std::floor(number) || number > 9007199254740991.0) {
    ThrowRangeError(env, std::string(fn) + ": " + arg + " must be a positive integer, got " +
                             value.ToString().Utf8Value());
  }
  return static_cast<size_t>(number);
}

inline void RequireArgumentCount(const Napi::CallbackInfo& info, size_t count, const char* signature) {
  if (info.Length() < count) {
    ThrowTypeError(info.Env(), std::string("expected ") + signature + ", got " + std::to_string(info.Length()) +
                                   " argument(s)");
  }
}

template <typename T>
inline bool AllFinite(const T* values, size_t length) {
  for (size_t i = 0; i < length; i++) {
    if (!std::isfinite(values[i])) return false;
  }
  return true;
}

// Applies the NaN/±Inf rule to a kernel's result. Only reached when the result is not
// finite, which a finite result proves cannot involve a non-finite input for the kernels
// we ship (and plugin:check verifies for any other).
template <typename A, typename B>
inline double ApplyNonFiniteRule(double result, const A* a, const B* b, size_t dim) {
  if (std::isfinite(result)) return result;
  if (!AllFinite(a, dim) || !AllFinite(b, dim)) return std::numeric_limits<double>::quiet_NaN();
  return std::isnan(result) ? result : std::numeric_limits<double>::infinity();
}

// A kernel may also define Distance4Unchecked: the 4-D distance without its rare slow paths
// (e.g. cosine's rescaling of zero or overflowing vectors), allowed to return NaN or ±Inf
// wherever the careful Distance4 would do something else. The block loop then runs the
// unchecked, branch-free version and re-does only the non-finite results carefully.
template <typename Kernel, typename = void>
struct HasDistance4Unchecked : std::false_type {};
template <typename Kernel>
struct HasDistance4Unchecked<Kernel, std::void_t<decltype(Kernel::Distance4Unchecked(static_cast<const float*>(nullptr), static_cast<const float*>(nullptr)))>>
    : std::true_type {};

template <typename Kernel, typename Q, typename P>
inline void DistancesBlock(const Q* query, const P* points, size_t dim, size_t count, double* out) {
  if (dim == 4) {
    if constexpr (HasDistance4Unchecked<Kernel>::value) {
      for (size_t i = 0; i < count; i++) out[i] = Kernel::Distance4Unchecked(query, points + i * 4);
      for (size_t i = 0; i < count; i++) {
        if (!std::isfinite(out[i])) out[i] = Kernel::Distance4(query, points + i * 4);
      }
    } else {
      for (size_t i = 0; i < count; i++) {
        out[i] = Kernel::Distance4(query, points + i * 4);
      }
    }
  } else {
    for (size_t i = 0; i < count; i++) {
      out[i] = Kernel::Distance(query, points + i * dim, dim);
    }
  }
  // The rule is enforced after the fact so the loop above stays branch-free and vectorisable;
  // per block, so this second look at the results hits the L1 cache, not memory.
  for (size_t i = 0; i < count; i++) {
    if (!std::isfinite(out[i])) out[i] = ApplyNonFiniteRule(out[i], query, points + i * dim, dim);
  }
}

// Which copies of the hot loop are compiled, and how one is picked: see hypercube_dispatch.h.
#include "hypercube_dispatch.h"

#if defined(_MSC_VER)
#define HYPERCUBE_ALWAYS_INLINE __forceinline
#else
#define HYPERCUBE_ALWAYS_INLINE inline __attribute__((always_inline))
#endif

// Inlined into each copy of the loop below, so each is compiled for its own instruction set.
template <typename Kernel, typename Q, typename P>
HYPERCUBE_ALWAYS_INLINE void DistancesBlocks(const Q* query, const P* points, size_t dim, size_t count, double* out) {
  const size_t block = 1024;
  for (size_t start = 0; start < count; start += block) {
    size_t n = count - start < block ? count - start : block;
    DistancesBlock<Kernel>(query, points + start * dim, dim, n, out + start);
  }
}

#if defined(HYPERCUBE_DISPATCH_IFUNC)
template <typename Kernel, typename Q, typename P>
HYPERCUBE_TARGET_CLONES void DistancesLoop(const Q* query, const P* points, size_t dim, size_t count, double* out) {
  DistancesBlocks<Kernel>(query, points, dim, count, out);
}
#elif defined(HYPERCUBE_DISPATCH_RUNTIME)
template <typename Kernel, typename Q, typename P>
__attribute__((target("avx2"))) void DistancesLoopAvx2(const Q* query, const P* points, size_t dim, size_t count, double* out) {
  DistancesBlocks<Kernel>(query, points, dim, count, out);
}

template <typename Kernel, typename Q, typename P>
void DistancesLoopBaseline(const Q* query, const P* points, size_t dim, size_t count, double* out) {
  DistancesBlocks<Kernel>(query, points, dim, count, out);
}

inline bool CpuHasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}

template <typename Kernel, typename Q, typename P>
void DistancesLoop(const Q* query, const P* points, size_t dim, size_t count, double* out) {
  if (CpuHasAvx2()) {
    DistancesLoopAvx2<Kernel>(query, points, dim, count, out);
  } else {
    DistancesLoopBaseline<Kernel>(query, points, dim, count, out);
  }
}
#else
template <typename Kernel, typename Q, typename P>
void DistancesLoop(const Q* query, const P* points, size_t dim, size_t count, double* out) {
  DistancesBlocks<Kernel>(query, points, dim, count, out);
}
#endif

// "a is nearer than b": numbers ascending, NaN after every number, ties by lower index.
struct Neighbour {
  double distance;
  uint32_t index;
};

inline bool NearerThan(const Neighbour& a, const Neighbour& b) {
  bool aNaN = std::isnan(a.distance);
  bool bNaN = std::isnan(b.distance);
  if (aNaN || bNaN) {
    if (aNaN && bNaN) return a.index < b.index;
    return bNaN;
  }
  if (a.distance != b.distance) return a.distance < b.distance;
  return a.index < b.index;
}

// Max-heap on NearerThan: the root is the farthest of the k kept so far.
inline void SiftDown(std::vector<Neighbour>& heap, size_t root, size_t size) {
  for (;;) {
    size_t left = root * 2 + 1;
    if (left >= size) return;
    size_t farthest = left;
    size_t right = left + 1;
    if (right < size && NearerThan(heap[left], heap[right])) farthest = right;
    if (!NearerThan(heap[root], heap[farthest])) return;
    std::swap(heap[root], heap[farthest]);
    root = farthest;
  }
}

inline void SiftUp(std::vector<Neighbour>& heap, size_t child) {
  while (child > 0) {
    size_t parent = (child - 1) / 2;
    if (!NearerThan(heap[parent], heap[child])) return;
    std::swap(heap[parent], heap[child]);
    child = parent;
  }
}

template <typename Kernel, typename Q, typename P>
inline std::vector<Neighbour> KnnLoop(const Q* query, const P* points, size_t dim, size_t count, size_t k) {
  std::vector<Neighbour> heap;
  heap.reserve(k);
  // Distances are computed in blocks through the same loop as `distances`, so knn and
  // distances agree bit for bit and the kernel keeps its vectorised inner loop.
  const size_t block = 4096;
  double buffer[block];
  for (size_t start = 0; start < count; start += block) {
    size_t n = count - start < block ? count - start : block;
    DistancesLoop<Kernel>(query, points + start * dim, dim, n, buffer);
    for (size_t j = 0; j < n; j++) {
      double d = buffer[j];
      if (heap.size() < k) {
        heap.push_back(Neighbour{d, static_cast<uint32_t>(start + j)});
        SiftUp(heap, heap.size() - 1);
        continue;
      }
      // Indices only grow, so a later point ties never win: it is nearer than the farthest
      // kept one iff its distance is smaller, or that one is NaN and this is not.
      double worst = heap[0].distance;
      if (d < worst || (worst != worst && d == d)) {
        heap[0] = Neighbour{d, static_cast<uint32_t>(start + j)};
        SiftDown(heap, 0, heap.size());
      }
    }
  }
  // Heap-sort in place: repeatedly move the farthest to the end, leaving nearest first.
  for (size_t end = heap.size(); end > 1; end--) {
    std::swap(heap[0], heap[end - 1]);
    SiftDown(heap, 0, end - 1);
  }
  return heap;
}

struct PointsArguments {
  VectorView query;
  VectorView points;
  size_t dim;
  size_t count;
};

inline PointsArguments ReadPointsArguments(const Napi::CallbackInfo& info, const char* fn) {
  Napi::Env env = info.Env();
  PointsArguments args;
  args.query = ReadVector(info, 0, fn, "query");
  args.points = ReadVector(info, 1, fn, "points");
  args.dim = ReadPositiveInteger(info, 2, fn, "dim");
  if (args.query.length != args.dim) {
    ThrowRangeError(env, std::string(fn) + ": query has " + std::to_string(args.query.length) +
                             " coordinates but dim is " + std::to_string(args.dim));
  }
  if (args.points.length % args.dim != 0) {
    ThrowRangeError(env, std::string(fn) + ": points has " + std::to_string(args.points.length) +
                             " values, which is not a multiple of dim " + std::to_string(args.dim));
  }
  args.count = args.points.length / args.dim;
  if (args.count > 0xFFFFFFFFull) {
    ThrowRangeError(env, std::string(fn) + ": more than 2^32-1 points");
  }
  return args;
}

// Calls body<Q, P>(query, points) with the element types resolved.
template <typename Body>
inline auto DispatchTypes(const VectorView& q, const VectorView& p, Body&& body) {
  if (q.isFloat32) {
    if (p.isFloat32) return body(static_cast<const float*>(q.data), static_cast<const float*>(p.data));
    return body(static_cast<const float*>(q.data), static_cast<const double*>(p.data));
  }
  if (p.isFloat32) return body(static_cast<const double*>(q.data), static_cast<const float*>(p.data));
  return body(static_cast<const double*>(q.data), static_cast<const double*>(p.data));
}

template <typename Kernel>
Napi::Value DistanceExport(const Napi::CallbackInfo& info) {
  RequireArgumentCount(info, 2, "distance(a, b)");
  VectorView a = ReadVector(info, 0, "distance", "a");
  VectorView b = ReadVector(info, 1, "distance", "b");
  if (a.length != b.length) {
    ThrowRangeError(info.Env(), "distance: a has " + std::to_string(a.length) + " coordinates but b has " +
                                    std::to_string(b.length));
  }
  double result = DispatchTypes(a, b, [&](auto qa, auto pb) {
    double out;
    DistancesLoop<Kernel>(qa, pb, a.length, 1, &out);
    return out;
  });
  return Napi::Number::New(info.Env(), result);
}

// distances(query, points, dim, out?): `out`, when given, is a Float64Array(N) to write
// into and return. Reusing it saves the caller a fresh 8 MB allocation per million points,
// whose page faults cost more than the distances themselves.
template <typename Kernel>
Napi::Value DistancesExport(const Napi::CallbackInfo& info) {
  RequireArgumentCount(info, 3, "distances(query, points, dim, out?)");
  PointsArguments args = ReadPointsArguments(info, "distances");
  Napi::Env env = info.Env();
  Napi::Float64Array out;
  if (info.Length() > 3 && !info[3].IsUndefined()) {
    Napi::Value given = info[3];
    if (!given.IsTypedArray() || given.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
      ThrowTypeError(env, std::string("distances: out must be a Float64Array, got ") + DescribeValue(given));
    }
    out = given.As<Napi::Float64Array>();
    if (out.ElementLength() != args.count) {
      ThrowRangeError(env, "distances: out has " + std::to_string(out.ElementLength()) + " elements but there are " +
                               std::to_string(args.count) + " points");
    }
  } else {
    out = Napi::Float64Array::New(env, args.count);
  }
  double* target = out.Data();
  DispatchTypes(args.query, args.points, [&](auto q, auto p) {
    DistancesLoop<Kernel>(q, p, args.dim, args.count, target);
    return 0;
  });
  return out;
}

template <typename Kernel>
Napi::Value KnnExport(const Napi::CallbackInfo& info) {
  RequireArgumentCount(info, 4, "knn(query, points, dim, k)");
  PointsArguments args = ReadPointsArguments(info, "knn");
  Napi::Env env = info.Env();
  if (!info[3].IsNumber()) {
    ThrowTypeError(env, "knn: k must be an integer between 1 and the number of points (" +
                            std::to_string(args.count) + "), got " + DescribeValue(info[3]));
  }
  double kValue = info[3].As<Napi::Number>().DoubleValue();
  if (!(kValue >= 1) || kValue != std::floor(kValue) || kValue > static_cast<double>(args.count)) {
    ThrowRangeError(env, "knn: k must be an integer between 1 and the number of points (" +
                             std::to_string(args.count) + "), got " + info[3].ToString().Utf8Value());
  }
  size_t k = static_cast<size_t>(kValue);
  std::vector<Neighbour> nearest = DispatchTypes(args.query, args.points, [&](auto q, auto p) {
    return KnnLoop<Kernel>(q, p, args.dim, args.count, k);
  });
  Napi::Uint32Array indices = Napi::Uint32Array::New(env, k);
  Napi::Float64Array distances = Napi::Float64Array::New(env, k);
  for (size_t i = 0; i < k; i++) {
    indices[i] = nearest[i].index;
    distances[i] = nearest[i].distance;
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("indices", indices);
  result.Set("distances", distances);
  return result;
}

inline Napi::Object IdentityObject(Napi::Env env, const Identity& identity) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("name", identity.name);
  object.Set("version", identity.version);
  object.Set("pluginApiVersion", HYPERCUBE_PLUGIN_API_VERSION);
  object.Set("kind", "geometric_operation");
  object.Set("isMetric", identity.isMetric);
  object.Set("napiVersion", NAPI_VERSION);
  object.Freeze();
  return object;
}

// Default initialize(context): accepts the host's { settings, log } and does nothing else.
// A plugin that needs settings defines its own and passes it to Register.
inline Napi::Value DefaultInitialize(const Napi::CallbackInfo& info) {
  return info.Env().Undefined();
}

template <typename Kernel>
Napi::Object Register(Napi::Env env, Napi::Object exports, const Identity& identity,
                      Napi::Function::Callback initialize = DefaultInitialize) {
  exports.Set("identity", IdentityObject(env, identity));
  exports.Set("distance", Napi::Function::New(env, DistanceExport<Kernel>, "distance"));
  exports.Set("distances", Napi::Function::New(env, DistancesExport<Kernel>, "distances"));
  exports.Set("knn", Napi::Function::New(env, KnnExport<Kernel>, "knn"));
  if (initialize != nullptr) exports.Set("initialize", Napi::Function::New(env, initialize, "initialize"));
  return exports;
}

}  // namespace hypercube

#define HYPERCUBE_GEOMETRIC_PLUGIN(KERNEL, NAME, VERSION, IS_METRIC)                      \
  static Napi::Object HypercubePluginInit(Napi::Env env, Napi::Object exports) {          \
    return hypercube::Register<KERNEL>(env, exports, hypercube::Identity{NAME, VERSION, IS_METRIC}); \
  }                                                                                        \
  NODE_API_MODULE(NODE_GYP_MODULE_NAME, HypercubePluginInit)

#endif  // HYPERCUBE_PLUGIN_H
