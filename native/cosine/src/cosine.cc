// Cosine distance: 1 - (a·b) / (|a| |b|), in [0, 2].
// Not a metric: it breaks the triangle inequality, so identity.isMetric is false.
// Zero vectors have no direction: d(0, 0) = 0 (identity holds) and d(0, x) = 1 (as if
// orthogonal) for any non-zero x.
#include <hypercube_plugin.h>

#include <cfloat>

struct CosineKernel {
  static inline double FromSums(double dot, double normA, double normB) {
    double product = normA * normB;
    // sqrt(|a|^2 |b|^2) makes d(x, x) exactly 0. Outside the normal range (zero vectors,
    // overflow, underflow) the result would be wrong: NaN sends Distance to Rescaled.
    if (!(product >= DBL_MIN && product <= DBL_MAX)) return std::numeric_limits<double>::quiet_NaN();
    double denominator = std::sqrt(product);
    double distance = 1.0 - dot / denominator;
    // Rounding can push |cos| a hair past 1; NaN passes through both comparisons.
    return distance < 0 ? 0.0 : (distance > 2 ? 2.0 : distance);
  }

  // Sums that overflow (or underflow) for finite inputs: cosine is scale-invariant, so
  // recompute with each vector divided by its largest magnitude. Cold path.
  template <typename A, typename B>
  static double Rescaled(const A* a, const B* b, size_t dim) {
    if (!hypercube::AllFinite(a, dim) || !hypercube::AllFinite(b, dim)) return std::numeric_limits<double>::quiet_NaN();
    double maxA = 0, maxB = 0;
    for (size_t i = 0; i < dim; i++) {
      maxA = std::fmax(maxA, std::fabs(static_cast<double>(a[i])));
      maxB = std::fmax(maxB, std::fabs(static_cast<double>(b[i])));
    }
    if (maxA == 0 || maxB == 0) return (maxA == 0 && maxB == 0) ? 0.0 : 1.0;
    double dot = 0, normA = 0, normB = 0;
    for (size_t i = 0; i < dim; i++) {
      double x = static_cast<double>(a[i]) / maxA;
      double y = static_cast<double>(b[i]) / maxB;
      dot += x * y;
      normA += x * x;
      normB += y * y;
    }
    return FromSums(dot, normA, normB);
  }

  template <typename A, typename B>
  static inline double Distance(const A* a, const B* b, size_t dim) {
    double result = DistanceFast(a, b, dim);
    return std::isnan(result) ? Rescaled(a, b, dim) : result;
  }

  template <typename A, typename B>
  static inline double DistanceFast(const A* a, const B* b, size_t dim) {
    double dot = 0, normA = 0, normB = 0;
    for (size_t i = 0; i < dim; i++) {
      double x = static_cast<double>(a[i]);
      double y = static_cast<double>(b[i]);
      dot += x * y;
      normA += x * x;
      normB += y * y;
    }
    return FromSums(dot, normA, normB);
  }

  struct Sums {
    double dot, normA, normB;
  };

  template <typename A, typename B>
  static inline Sums Sums4(const A* a, const B* b) {
    double x0 = a[0], x1 = a[1], x2 = a[2], x3 = a[3];
    double y0 = b[0], y1 = b[1], y2 = b[2], y3 = b[3];
    return {(x0 * y0 + x1 * y1) + (x2 * y2 + x3 * y3), (x0 * x0 + x1 * x1) + (x2 * x2 + x3 * x3),
            (y0 * y0 + y1 * y1) + (y2 * y2 + y3 * y3)};
  }

  // Branch-free for the block loop; NaN wherever FromSums would give up (zero vectors,
  // overflow), which the SDK then hands to Distance4.
  template <typename A, typename B>
  static inline double Distance4Unchecked(const A* a, const B* b) {
    Sums sums = Sums4(a, b);
    double product = sums.normA * sums.normB;
    double distance = 1.0 - sums.dot / std::sqrt(product);
    distance = distance < 0.0 ? 0.0 : distance;
    distance = distance > 2.0 ? 2.0 : distance;
    // Plain selects (no fmin/fmax, whose NaN rules keep the compiler from vectorising).
    return product >= DBL_MIN && product <= DBL_MAX ? distance : std::numeric_limits<double>::quiet_NaN();
  }

  template <typename A, typename B>
  static inline double Distance4(const A* a, const B* b) {
    Sums sums = Sums4(a, b);
    double result = FromSums(sums.dot, sums.normA, sums.normB);
    return std::isnan(result) ? Rescaled(a, b, 4) : result;
  }
};

HYPERCUBE_GEOMETRIC_PLUGIN(CosineKernel, "cosine", "1.0.0", false)
