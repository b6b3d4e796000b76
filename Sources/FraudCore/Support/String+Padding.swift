/// Left padding: zeros for fixed-point text written per transaction, spaces for right-aligned columns.
extension String {
    func leftPadded(_ width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
