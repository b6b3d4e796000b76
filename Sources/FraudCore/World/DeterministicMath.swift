/// Elementary functions built only from IEEE-754 addition, multiplication, division and square root,
/// so that they round identically on every platform (the C library's `log`, `exp`, `sin`… may differ
/// in the last bit between glibc and Apple's libm, which would change generated worlds).
///
/// Accuracy is a few units in the last place over the ranges the world generator uses; the point is
/// reproducibility, not correct rounding.
enum DeterministicMath {
    private static let ln2High = 6.931_471_803_691_238_164_90e-01
    private static let ln2Low = 1.908_214_929_270_587_700_02e-10
    private static let log2e = 1.442_695_040_888_963_4
    private static let halfPiHigh = 1.570_796_326_794_896_6
    private static let halfPiLow = 6.123_233_995_736_766e-17
    private static let twoOverPi = 0.636_619_772_367_581_4
    private static let squareRootOfTwo = 1.414_213_562_373_095_1

    /// Kilometres per radian of the mean Earth radius used by the feature code.
    static let earthRadiusKilometres = 6_371.0088

    /// Natural logarithm.
    static func log(_ x: Double) -> Double {
        if x.isNaN || x < 0 { return .nan }
        if x == 0 { return -.infinity }
        if x.isInfinite { return .infinity }
        var exponent = Int(x.exponent)
        var mantissa = x.significand  // [1, 2)
        if mantissa > squareRootOfTwo {
            mantissa *= 0.5
            exponent += 1
        }
        // ln(m) = 2 artanh(s) with s = (m - 1) / (m + 1), |s| <= 0.1716.
        let s = (mantissa - 1) / (mantissa + 1)
        let s2 = s * s
        var power = s
        var sum = 0.0
        var denominator = 1.0
        for _ in 0..<14 {
            sum += power / denominator
            power *= s2
            denominator += 2
        }
        let e = Double(exponent)
        return e * ln2High + (2 * sum + e * ln2Low)
    }

    /// Exponential function.
    static func exp(_ x: Double) -> Double {
        if x.isNaN { return x }
        if x > 709.78 { return .infinity }
        if x < -745.2 { return 0 }
        let k = (x * log2e).rounded()
        let r = (x - k * ln2High) - k * ln2Low  // |r| <= 0.35
        var term = 1.0
        var sum = 1.0
        for i in 1...15 {
            term *= r / Double(i)
            sum += term
        }
        return scaleByPowerOfTwo(sum, Int(k))
    }

    private static func scaleByPowerOfTwo(_ value: Double, _ power: Int) -> Double {
        var result = value
        var remaining = power
        while remaining > 1000 {
            result *= Double(sign: .plus, exponent: 1000, significand: 1)
            remaining -= 1000
        }
        while remaining < -1000 {
            result *= Double(sign: .plus, exponent: -1000, significand: 1)
            remaining += 1000
        }
        return result * Double(sign: .plus, exponent: remaining, significand: 1)
    }

    /// Sine and cosine together, for arguments of moderate size (|x| up to a few thousand).
    static func sinCos(_ x: Double) -> (sin: Double, cos: Double) {
        let quarter = (x * twoOverPi).rounded()
        let r = (x - quarter * halfPiHigh) - quarter * halfPiLow  // |r| <= pi/4 (plus rounding)
        let r2 = r * r
        var sinTerm = r
        var sinSum = r
        var cosTerm = 1.0
        var cosSum = 1.0
        var n = 1.0
        for _ in 0..<11 {
            sinTerm *= -r2 / ((n + 1) * (n + 2))
            sinSum += sinTerm
            cosTerm *= -r2 / (n * (n + 1))
            cosSum += cosTerm
            n += 2
        }
        var quadrant = Int(quarter) % 4
        if quadrant < 0 { quadrant += 4 }
        switch quadrant {
        case 0: return (sinSum, cosSum)
        case 1: return (cosSum, -sinSum)
        case 2: return (-sinSum, -cosSum)
        default: return (-cosSum, sinSum)
        }
    }

    /// Sine.
    static func sin(_ x: Double) -> Double { sinCos(x).sin }

    /// Cosine.
    static func cos(_ x: Double) -> Double { sinCos(x).cos }

    /// Arc tangent.
    static func atan(_ x: Double) -> Double {
        if x.isNaN { return x }
        if x < 0 { return -atan(-x) }
        if x > 1 { return halfPiHigh - atan(1 / x) }
        // Halve the angle until the series converges fast: atan(t) = 2 atan(t / (1 + sqrt(1 + t²))).
        var t = x
        var factor = 1.0
        while t > 0.125 {
            t = t / (1 + (1 + t * t).squareRoot())
            factor *= 2
        }
        let t2 = t * t
        var power = t
        var sum = 0.0
        var denominator = 1.0
        var sign = 1.0
        for _ in 0..<10 {
            sum += sign * power / denominator
            power *= t2
            denominator += 2
            sign = -sign
        }
        return factor * sum
    }

    /// Arc sine for arguments in -1...1.
    static func asin(_ x: Double) -> Double {
        if x >= 1 { return halfPiHigh }
        if x <= -1 { return -halfPiHigh }
        return atan(x / ((1 - x) * (1 + x)).squareRoot())
    }

    /// Great-circle (haversine) distance in kilometres between two points in degrees.
    static func distanceKilometres(_ latitude1: Double, _ longitude1: Double, _ latitude2: Double, _ longitude2: Double) -> Double {
        let radians = Double.pi / 180
        let sinHalfLatitude = sin((latitude2 - latitude1) * radians / 2)
        let sinHalfLongitude = sin((longitude2 - longitude1) * radians / 2)
        let a = sinHalfLatitude * sinHalfLatitude
            + cos(latitude1 * radians) * cos(latitude2 * radians) * sinHalfLongitude * sinHalfLongitude
        return 2 * earthRadiusKilometres * asin(min(1, a.squareRoot()))
    }
}
