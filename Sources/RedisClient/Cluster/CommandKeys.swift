/// Which keys a command touches, for routing it in a cluster. Covers the commands FraudStream and its tools
/// send; any other command is taken to have its key first, as most do.
enum CommandKeys {
    /// Where a command goes.
    enum Route: Equatable {
        /// No key: any node answers (the seed node).
        case anyNode
        /// Every primary must run it (loading Functions, flushing): the first reply is returned.
        case everyPrimary
        /// The primary of this slot.
        case slot(Int)
    }

    static let keyless: Set<String> = [
        "PING", "INFO", "TIME", "CLUSTER", "CLIENT", "CONFIG", "SCAN", "DBSIZE", "COMMAND", "ACL", "AUTH", "SELECT",
        "READONLY", "READWRITE", "ASKING", "HELLO", "ECHO", "LATENCY", "SLOWLOG", "WAIT", "LASTSAVE", "ROLE", "SAVE",
        "BGSAVE", "BGREWRITEAOF", "DEBUG", "MEMORY", "RANDOMKEY", "QUIT", "RESET", "LOLWUT", "FAILOVER",
    ]
    static let broadcast: Set<String> = ["FLUSHALL", "FLUSHDB"]
    static let broadcastSubcommands: [String: Set<String>] = [
        "FUNCTION": ["LOAD", "DELETE", "FLUSH", "RESTORE"], "SCRIPT": ["LOAD", "FLUSH"], "CONFIG": ["SET", "RESETSTAT"],
    ]
    static let allArgumentsAreKeys: Set<String> = [
        "DEL", "UNLINK", "EXISTS", "MGET", "TOUCH", "WATCH", "PFCOUNT", "PFMERGE", "SINTER", "SUNION", "SDIFF", "SINTERSTORE",
        "SUNIONSTORE", "SDIFFSTORE",
    ]
    static let firstTwoAreKeys: Set<String> = ["RENAME", "RENAMENX", "SMOVE", "LMOVE", "BLMOVE", "RPOPLPUSH", "COPY"]
    static let keyAfterSubcommand: Set<String> = ["XINFO", "XGROUP", "OBJECT"]
    static let numberOfKeysSecond: Set<String> = ["FCALL", "FCALL_RO", "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO"]

    /// A transaction goes where its commands go: `MULTI` and its `EXEC` (or `DISCARD`) take the route of the first
    /// command between them that has a key (a transaction's commands must share a slot on a cluster anyway).
    static func routeTransactions(_ commands: [RedisCommand], _ routes: inout [Route]) {
        func name(_ index: Int) -> String {
            commands[index].arguments.first.map { String(decoding: $0, as: UTF8.self).uppercased() } ?? ""
        }
        var index = 0
        while index < commands.count {
            guard name(index) == "MULTI" else {
                index += 1
                continue
            }
            var end = index + 1
            var keyed: Route?
            while end < commands.count, !["EXEC", "DISCARD"].contains(name(end)) {
                if keyed == nil, case .slot = routes[end] { keyed = routes[end] }
                end += 1
            }
            if let keyed {
                routes[index] = keyed
                if end < commands.count { routes[end] = keyed }
            }
            index = end + 1
        }
    }

    /// The route of `command`; throws `crossSlot` for a command whose keys do not share a slot.
    static func route(_ command: RedisCommand) throws(RedisError) -> Route {
        let arguments = command.arguments
        guard let first = arguments.first else { return .anyNode }
        let name = String(decoding: first, as: UTF8.self).uppercased()
        let subcommand = arguments.count > 1 ? String(decoding: arguments[1], as: UTF8.self).uppercased() : ""
        if broadcast.contains(name) || broadcastSubcommands[name]?.contains(subcommand) == true { return .everyPrimary }
        if name == "MEMORY" && subcommand == "USAGE" { return try slot(of: arguments.dropFirst(2).prefix(1), command: name) }
        if keyless.contains(name) || name == "FUNCTION" || name == "SCRIPT" { return .anyNode }
        let keys: ArraySlice<[UInt8]>
        if numberOfKeysSecond.contains(name) {
            guard arguments.count > 2, let count = Int(String(decoding: arguments[2], as: UTF8.self)), count >= 0,
                  arguments.count >= 3 + count
            else { return .anyNode }
            keys = arguments[3..<(3 + count)]
        } else if name == "XREAD" || name == "XREADGROUP" {
            guard let streams = arguments.firstIndex(where: { String(decoding: $0, as: UTF8.self).uppercased() == "STREAMS" }) else {
                return .anyNode
            }
            let rest = arguments[(streams + 1)...]
            keys = rest.prefix(rest.count / 2)
        } else if keyAfterSubcommand.contains(name) {
            keys = arguments.dropFirst(2).prefix(1)
        } else if allArgumentsAreKeys.contains(name) {
            keys = arguments.dropFirst()
        } else if firstTwoAreKeys.contains(name) {
            keys = arguments.dropFirst().prefix(2)
        } else if name == "MSET" || name == "MSETNX" {
            keys = ArraySlice(arguments.dropFirst().enumerated().filter { $0.offset % 2 == 0 }.map(\.element))
        } else {
            keys = arguments.dropFirst().prefix(1)
        }
        return try slot(of: keys, command: name)
    }

    private static func slot(of keys: ArraySlice<[UInt8]>, command: String) throws(RedisError) -> Route {
        guard let first = keys.first else { return .anyNode }
        let slot = HashSlot.of(first)
        for key in keys.dropFirst() {
            let other = HashSlot.of(key)
            if other != slot {
                throw RedisError(
                    code: .crossSlot,
                    message: "CROSSSLOT \(command): keys '\(String(decoding: first, as: UTF8.self))' (slot \(slot)) and "
                        + "'\(String(decoding: key, as: UTF8.self))' (slot \(other)) are in different hash slots; in a Redis Cluster "
                        + "every key of one command must share a slot (give them the same {hash tag})")
            }
        }
        return .slot(slot)
    }
}
