// Manhattan (L1) distance: sum(|a_i - b_i|). A true metric.
#include <hypercube_plugin.h>

struct ManhattanKernel {
  template <typename A, typename B>
  static inline double Distance(const A* a, const B* b, size_t dim) {
    double sum = 0;
    for (size_t i = 0; i < dim; i++) {
      sum += std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
    }
    return sum;
  }

  template <typename A, typename B>
  static inline double Distance4(const A* a, const B* b) {
    double d0 = std::fabs(static_cast<double>(a[0]) - static_cast<double>(b[0]));
    double d1 = std::fabs(static_cast<double>(a[1]) - static_cast<double>(b[1]));
    double d2 = std::fabs(static_cast<double>(a[2]) - static_cast<double>(b[2]));
    double d3 = std::fabs(static_cast<double>(a[3]) - static_cast<double>(b[3]));
    return (d0 + d1) + (d2 + d3);
  }
};

HYPERCUBE_GEOMETRIC_PLUGIN(ManhattanKernel, "manhattan", "1.0.0", true)
