/// Collects integers observed while a worker runs (test samples).
actor SampleBox {
    var values: [Int] = []
    func add(_ value: Int) { values.append(value) }
}
