extension String {
    /// A number with two decimals (`1.5` → `"1.50"`), without Foundation's format strings.
    public init(format2 value: Double) {
        let scaled = Int((value * 100).rounded())
        let fraction = abs(scaled % 100)
        self = "\(scaled < 0 && scaled / 100 == 0 ? "-" : "")\(scaled / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
