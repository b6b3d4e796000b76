import CHiredis

extension RESPValue {
    /// Copies a hiredis reply tree into Swift values. The caller still owns and frees `reply`.
    init(copying reply: UnsafePointer<redisReply>) {
        let node = reply.pointee
        switch node.type {
        case REDIS_REPLY_STRING:
            self = .bulkString(Self.copyBytes(node.str, count: node.len))
        case REDIS_REPLY_STATUS:
            self = .simpleString(Self.decodeString(node.str, count: node.len))
        case REDIS_REPLY_ERROR:
            self = .error(Self.decodeString(node.str, count: node.len))
        case REDIS_REPLY_INTEGER:
            self = .integer(Int64(node.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RESPValue] = []
            elements.reserveCapacity(node.elements)
            if let children = node.element {
                for index in 0..<node.elements {
                    if let child = children[index] {
                        elements.append(RESPValue(copying: child))
                    } else {
                        elements.append(.null)
                    }
                }
            }
            self = .array(elements)
        default:
            self = .null
        }
    }

    private static func decodeString(_ pointer: UnsafeMutablePointer<CChar>?, count: Int) -> String {
        guard let pointer, count > 0 else { return "" }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: count) {
            String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
        }
    }

    private static func copyBytes(_ pointer: UnsafeMutablePointer<CChar>?, count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: count) {
            Array(UnsafeBufferPointer(start: $0, count: count))
        }
    }
}
