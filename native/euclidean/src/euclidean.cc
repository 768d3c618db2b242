// Euclidean (L2) distance: sqrt(sum((a_i - b_i)^2)). A true metric.
#include <hypercube_plugin.h>

struct EuclideanKernel {
  template <typename A, typename B>
  static inline double Distance(const A* a, const B* b, size_t dim) {
    double sum = 0;
    for (size_t i = 0; i < dim; i++) {
      double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
      sum += d * d;
    }
    return std::sqrt(sum);
  }

  template <typename A, typename B>
  static inline double Distance4(const A* a, const B* b) {
    double d0 = static_cast<double>(a[0]) - static_cast<double>(b[0]);
    double d1 = static_cast<double>(a[1]) - static_cast<double>(b[1]);
    double d2 = static_cast<double>(a[2]) - static_cast<double>(b[2]);
    double d3 = static_cast<double>(a[3]) - static_cast<double>(b[3]);
    return std::sqrt((d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3));
  }
};

HYPERCUBE_GEOMETRIC_PLUGIN(EuclideanKernel, "euclidean", "1.0.0", true)
