import Foundation

/// Trains the baseline: L2-regularized logistic regression on standardized features.
public enum LogisticRegressionTrainer {
    /// Standardizes features and fits L2-regularized logistic regression (deterministic; e.g. full-batch gradient descent or Newton/IRLS).
    ///
    /// Minimizes mean log-loss + `l2`/2 · ‖weights‖² (the bias is not penalized) by damped Newton steps
    /// with backtracking, for at most `iterations` steps; usually converges in a dozen.
    /// Traps when `set.validate()` would throw.
    public static func train(_ set: TrainingSet, l2: Double = 1e-4, iterations: Int = 200) -> LogisticRegressionModel {
        do { try set.validate() } catch { preconditionFailure("LogisticRegressionTrainer: \(error)") }
        precondition(l2 >= 0 && l2.isFinite, "LogisticRegressionTrainer: l2 must be >= 0")
        let rowCount = set.rowCount
        let width = set.featureCount
        var model = LogisticRegressionModel(
            featureNames: set.featureNames, means: [Double](repeating: 0, count: width),
            scales: [Double](repeating: 1, count: width), weights: [Double](repeating: 0, count: width), bias: 0
        )
        guard rowCount > 0 else { return model }
        let count = Double(rowCount)
        let columns = width + 1
        // Standardized design, row-major, with a trailing 1 for the bias.
        var design = [Double](repeating: 1, count: rowCount * columns)
        set.features.withUnsafeBufferPointer { values in
            for feature in 0..<width {
                var sum = 0.0
                for row in 0..<rowCount { sum += values[row * width + feature] }
                let mean = sum / count
                var squares = 0.0
                for row in 0..<rowCount {
                    let deviation = values[row * width + feature] - mean
                    squares += deviation * deviation
                }
                let deviation = (squares / count).squareRoot()
                model.means[feature] = mean
                model.scales[feature] = deviation > 0 && deviation.isFinite ? deviation : 1
            }
            design.withUnsafeMutableBufferPointer { design in
                for feature in 0..<width {
                    let mean = model.means[feature]
                    let scale = model.scales[feature]
                    for row in 0..<rowCount {
                        design[row * columns + feature] = (values[row * width + feature] - mean) / scale
                    }
                }
            }
        }
        let labels = set.labels.map(Double.init)
        let prior = min(max(labels.reduce(0, +) / count, 1e-12), 1 - 1e-12)
        var theta = [Double](repeating: 0, count: columns)
        theta[width] = log(prior / (1 - prior))
        design.withUnsafeBufferPointer { design in
            labels.withUnsafeBufferPointer { labels in
                newton(&theta, design: design, labels: labels, width: width, l2: l2, iterations: iterations)
            }
        }
        model.weights = Array(theta[0..<width])
        model.bias = theta[width]
        return model
    }

    /// Mean log-loss plus the L2 penalty at `theta`.
    private static func objective(
        _ theta: UnsafeBufferPointer<Double>, design: UnsafeBufferPointer<Double>, labels: UnsafeBufferPointer<Double>,
        width: Int, l2: Double
    ) -> Double {
        let columns = width + 1
        var loss = 0.0
        for row in 0..<labels.count {
            let x = row * columns
            var z = 0.0
            for column in 0..<columns { z += design[x + column] * theta[column] }
            loss += max(z, 0) + log1p(exp(-abs(z))) - labels[row] * z
        }
        var penalty = 0.0
        for feature in 0..<width { penalty += theta[feature] * theta[feature] }
        return loss / Double(labels.count) + l2 / 2 * penalty
    }

    /// Damped Newton iterations from `theta` until the Newton decrement vanishes or no step helps.
    private static func newton(
        _ theta: inout [Double], design: UnsafeBufferPointer<Double>, labels: UnsafeBufferPointer<Double>, width: Int,
        l2: Double, iterations: Int
    ) {
        let columns = width + 1
        let count = Double(labels.count)
        var gradient = [Double](repeating: 0, count: columns)
        var hessian = [Double](repeating: 0, count: columns * columns)
        var candidate = theta
        var current = theta.withUnsafeBufferPointer { objective($0, design: design, labels: labels, width: width, l2: l2) }
        for _ in 0..<iterations {
            theta.withUnsafeBufferPointer { theta in
                gradient.withUnsafeMutableBufferPointer { gradient in
                    hessian.withUnsafeMutableBufferPointer { hessian in
                        gradient.update(repeating: 0)
                        hessian.update(repeating: 0)
                        for row in 0..<labels.count {
                            let x = row * columns
                            var z = 0.0
                            for column in 0..<columns { z += design[x + column] * theta[column] }
                            let probability = ModelEvaluation.logistic(z)
                            let residual = probability - labels[row]
                            let weight = probability * (1 - probability)
                            for i in 0..<columns {
                                let xi = design[x + i]
                                gradient[i] += residual * xi
                                let wxi = weight * xi
                                let line = i * columns
                                for j in 0...i { hessian[line + j] += wxi * design[x + j] }
                            }
                        }
                        for i in 0..<columns {
                            gradient[i] /= count
                            for j in 0...i { hessian[i * columns + j] /= count }
                            if i < width {
                                gradient[i] += l2 * theta[i]
                                hessian[i * columns + i] += l2
                            }
                        }
                    }
                }
            }
            guard let step = solveSymmetric(hessian, gradient, size: columns) else { return }
            // Newton decrement λ² = gᵀ H⁻¹ g: stop once the model cannot improve measurably.
            let decrement = zip(gradient, step).reduce(0) { $0 + $1.0 * $1.1 }
            if !(decrement > 1e-16) { return }
            var size = 1.0
            while true {
                for column in 0..<columns { candidate[column] = theta[column] - size * step[column] }
                let value = candidate.withUnsafeBufferPointer {
                    objective($0, design: design, labels: labels, width: width, l2: l2)
                }
                if value <= current - 1e-4 * size * decrement {
                    theta = candidate
                    current = value
                    break
                }
                size /= 2
                if size < 1e-10 { return }
            }
        }
    }

    /// Solves H x = b for symmetric positive-definite H (lower triangle filled) by Cholesky, adding a
    /// little ridge when H is singular; nil when even that fails.
    private static func solveSymmetric(_ matrix: [Double], _ right: [Double], size: Int) -> [Double]? {
        var ridge = 0.0
        for _ in 0..<8 {
            if let solution = cholesky(matrix, right, size: size, ridge: ridge) { return solution }
            ridge = ridge == 0 ? 1e-10 : ridge * 100
        }
        return nil
    }

    private static func cholesky(_ matrix: [Double], _ right: [Double], size: Int, ridge: Double) -> [Double]? {
        var lower = [Double](repeating: 0, count: size * size)
        for i in 0..<size {
            for j in 0...i {
                var sum = matrix[i * size + j] + (i == j ? ridge : 0)
                for k in 0..<j { sum -= lower[i * size + k] * lower[j * size + k] }
                if i == j {
                    guard sum > 0, sum.isFinite else { return nil }
                    lower[i * size + i] = sum.squareRoot()
                } else {
                    lower[i * size + j] = sum / lower[j * size + j]
                }
            }
        }
        var y = right
        for i in 0..<size {
            for k in 0..<i { y[i] -= lower[i * size + k] * y[k] }
            y[i] /= lower[i * size + i]
        }
        for i in stride(from: size - 1, through: 0, by: -1) {
            for k in (i + 1)..<size { y[i] -= lower[k * size + i] * y[k] }
            y[i] /= lower[i * size + i]
        }
        return y
    }
}
