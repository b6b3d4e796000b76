/// A Redis Cluster's slot map and one connection per primary, held by the ``RedisConnection`` that talks to it.
///
/// hiredis 0.14 has no cluster support, so it is built here: the topology comes from `CLUSTER SLOTS`, each
/// command goes to the primary of its keys' slot (``HashSlot``, ``CommandKeys``), a pipeline is split by node
/// (sent to the nodes concurrently, replies returned in the caller's order), `MOVED` refreshes the map and
/// resends, `ASK` resends once to the named node after `ASKING`, and a node that fails makes the map refresh
/// before the error goes to the caller's retry policy.
struct ClusterState: Sendable {
    /// `host:port` of a node.
    struct Address: Hashable, Sendable, CustomStringConvertible {
        var host: String
        var port: Int
        var description: String { "\(host):\(port)" }
    }

    /// A range of slots and who serves it.
    struct SlotRange: Sendable, Equatable {
        var slots: ClosedRange<Int>
        var primary: Address
        var replicas: [Address]
    }

    /// Which node index serves each slot (-1: none).
    var owners = [Int16](repeating: -1, count: HashSlot.count)
    /// Primaries, by index.
    var primaries: [Address] = []
    /// The ranges as last read.
    var ranges: [SlotRange] = []
    /// Connections to the nodes, made on first use.
    var connections: [Address: RedisConnection] = [:]

    /// Installs a topology read from `CLUSTER SLOTS`.
    mutating func install(_ ranges: [SlotRange]) {
        self.ranges = ranges
        primaries = []
        owners = [Int16](repeating: -1, count: HashSlot.count)
        for range in ranges {
            let index: Int
            if let existing = primaries.firstIndex(of: range.primary) {
                index = existing
            } else {
                primaries.append(range.primary)
                index = primaries.count - 1
            }
            for slot in range.slots where slot < HashSlot.count { owners[slot] = Int16(index) }
        }
    }

    /// The primary serving `slot`, if any.
    func primary(for slot: Int) -> Address? {
        let index = owners[slot]
        return index >= 0 ? primaries[Int(index)] : nil
    }

    /// Parses a `CLUSTER SLOTS` reply; an empty host means the node answering (`seedHost`).
    static func parseSlots(_ reply: RESPValue, seedHost: String) throws(RedisError) -> [SlotRange] {
        guard let entries = reply.array else { throw RedisError(code: .unexpectedReply, message: "CLUSTER SLOTS returned \(reply)") }
        func address(_ value: RESPValue) -> Address? {
            guard let parts = value.array, parts.count >= 2, let port = parts[1].int else { return nil }
            let host = parts[0].string ?? ""
            return Address(host: host.isEmpty || host == "?" ? seedHost : host, port: port)
        }
        return try entries.map { entry throws(RedisError) -> SlotRange in
            guard let parts = entry.array, parts.count >= 3, let start = parts[0].int, let end = parts[1].int, start <= end,
                  let primary = address(parts[2])
            else { throw RedisError(code: .unexpectedReply, message: "CLUSTER SLOTS entry \(entry)") }
            return SlotRange(slots: start...end, primary: primary, replicas: parts.dropFirst(3).compactMap(address))
        }
    }
}

extension RedisConnection {
    /// Redirects a command may follow before it is an error.
    static let maximumRedirects = 5

    /// Whether this connection routes over a Redis Cluster.
    public var isCluster: Bool { cluster != nil }

    /// Asks the server whether it is a cluster node (unless ``RedisConfiguration/clusterMode`` is `disabled`) and,
    /// when it is, reads the topology through `context`. Runs on the connection's own thread, when it (re)connects.
    func detectCluster(on context: HiredisContext) throws(RedisError) {
        guard configuration.clusterMode != .disabled else { return }
        let outcome = context.execute([RedisCommand("INFO", "cluster")])
        if let failure = outcome.failure { throw failure }
        let info = outcome.replies.first?.string ?? ""
        guard info.contains("cluster_enabled:1") else {
            if configuration.clusterMode == .enabled {
                throw RedisError(
                    code: .invalidConfiguration,
                    message: "\(configuration) is not a Redis Cluster node (cluster_enabled:0), but cluster mode was asked for (REDIS_CLUSTER=1 / --cluster)")
            }
            return
        }
        let slots = context.execute([RedisCommand("CLUSTER", "SLOTS")])
        if let failure = slots.failure { throw failure }
        var state = cluster ?? ClusterState()
        state.install(try ClusterState.parseSlots(try slots.replies[0].get(), seedHost: seedHost))
        cluster = state
    }

    nonisolated var seedHost: String {
        if case .tcp(let host, _) = configuration.endpoint { return host }
        return "127.0.0.1"
    }

    /// Reads the topology again: through this connection's own socket, or, when the node it was opened to is
    /// gone (a failover), through any other known node.
    func refreshTopology() async throws(RedisError) {
        guard var state = cluster else { return }
        var lastError: RedisError?
        do {
            let reply = try await directPipeline([RedisCommand("CLUSTER", "SLOTS")])[0].get()
            // Re-read after the await: connections made meanwhile stay.
            state = cluster ?? state
            state.install(try ClusterState.parseSlots(reply, seedHost: seedHost))
            cluster = state
            return
        } catch {
            lastError = error
        }
        for address in state.primaries + state.ranges.flatMap(\.replicas) {
            do {
                let reply = try await connection(to: address).send(RedisCommand("CLUSTER", "SLOTS"))
                state = cluster ?? state
                state.install(try ClusterState.parseSlots(reply, seedHost: address.host))
                cluster = state
                return
            } catch {
                lastError = error
            }
        }
        throw lastError ?? RedisError(code: .clusterRouting, message: "no cluster node answered CLUSTER SLOTS")
    }

    /// The connection to a node, made (not yet opened) on first use.
    func connection(to address: ClusterState.Address) -> RedisConnection {
        if let existing = cluster?.connections[address] { return existing }
        var nodeConfiguration = configuration
        nodeConfiguration.endpoint = .tcp(host: address.host, port: address.port)
        nodeConfiguration.clusterMode = .disabled
        let connection = RedisConnection(configuration: nodeConfiguration, name: "node-\(address.port)")
        cluster?.connections[address] = connection
        return connection
    }

    /// One connection per primary (in a cluster), or this connection itself: what runs per-node work such as
    /// `SCAN`, `DBSIZE` and `INFO`.
    public func primaryConnections() async throws(RedisError) -> [RedisConnection] {
        if context == nil && cluster == nil { try connect() }
        guard let state = cluster else { return [self] }
        return state.primaries.map { connection(to: $0) }
    }

    /// The cluster's shape from `CLUSTER NODES`: each primary that serves slots, with its slot count and its
    /// replicas that are not failed (empty when not a cluster). `CLUSTER SLOTS` would list a replica only once
    /// it has replicated something.
    public func clusterShape() async throws(RedisError) -> [(primary: String, slots: Int, replicas: [String])] {
        if context == nil && cluster == nil { try connect() }
        guard let state = cluster, let any = state.primaries.first else { return [] }
        let text = try await connection(to: any).send(RedisCommand("CLUSTER", "NODES")).string ?? ""
        struct Node { var id: String, address: String, flags: [Substring], primaryId: String, slots: Int }
        let nodes = text.split(separator: "\n").compactMap { line -> Node? in
            let fields = line.split(separator: " ")
            guard fields.count >= 8 else { return nil }
            let address = String(fields[1].split(separator: "@").first ?? fields[1])
            let slots = fields.dropFirst(8).filter { !$0.hasPrefix("[") }.reduce(0) { count, range in
                let bounds = range.split(separator: "-").compactMap { Int($0) }
                return count + (bounds.count == 2 ? bounds[1] - bounds[0] + 1 : bounds.count == 1 ? 1 : 0)
            }
            return Node(id: String(fields[0]), address: address, flags: fields[2].split(separator: ","), primaryId: String(fields[3]), slots: slots)
        }
        return nodes.filter { $0.flags.contains("master") && $0.slots > 0 }.sorted { $0.address < $1.address }.map { primary in
            let replicas = nodes.filter { $0.primaryId == primary.id && !$0.flags.contains("fail") }.map(\.address).sorted()
            return (primary.address, primary.slots, replicas)
        }
    }

    /// A pipeline over the cluster: split by node, sent concurrently, replies in the caller's order.
    func clusterPipeline(_ commands: [RedisCommand], timeoutMilliseconds: Int?) async throws(RedisError) -> [RESPValue] {
        var routes: [CommandKeys.Route] = []
        routes.reserveCapacity(commands.count)
        for command in commands { routes.append(try CommandKeys.route(command)) }
        CommandKeys.routeTransactions(commands, &routes)
        var replies = [RESPValue?](repeating: nil, count: commands.count)
        // Commands still to send, with the node an ASK named for them.
        var outstanding: [(index: Int, asking: ClusterState.Address?)] = commands.indices.map { ($0, nil) }
        var refreshed = false
        for _ in 0...Self.maximumRedirects {
            guard !outstanding.isEmpty else { break }
            guard let state = cluster else { break }
            var byNode: [ClusterState.Address?: [(index: Int, asking: Bool)]] = [:]
            var broadcasts: [Int] = []
            for (index, asking) in outstanding {
                if let asking {
                    byNode[asking, default: []].append((index, true))
                    continue
                }
                switch routes[index] {
                case .anyNode:
                    // A primary rather than the node this connection was opened to, which may be gone (a failover).
                    byNode[state.primaries.first, default: []].append((index, false))
                case .everyPrimary: broadcasts.append(index)
                case .slot(let slot):
                    guard let primary = state.primary(for: slot) else {
                        throw RedisError(code: .clusterRouting, message: "no cluster node serves slot \(slot) (CLUSTER SLOTS); is the cluster complete?")
                    }
                    byNode[primary, default: []].append((index, false))
                }
            }
            // Every node's share at once (with no primary known, this connection's own socket takes keyless commands).
            var targets: [(RedisConnection, [(index: Int, asking: Bool)])] = byNode.map { address, entries in
                (address.map { connection(to: $0) } ?? self, entries)
            }
            for index in broadcasts {
                for primary in state.primaries { targets.append((connection(to: primary), [(index, false)])) }
            }
            let results = await Self.send(targets, commands: commands, own: self, timeoutMilliseconds: timeoutMilliseconds)
            var next: [(index: Int, asking: ClusterState.Address?)] = []
            var needsRefresh = false
            var failure: RedisError?
            for (entries, outcome) in results {
                switch outcome {
                case .failure(let error):
                    failure = failure ?? error
                case .success(let nodeReplies):
                    for (entry, reply) in zip(entries, nodeReplies) {
                        if let message = reply.errorMessage, var redirect = Redirect(message) {
                            // An empty host means the host of the node that answered (as in CLUSTER SLOTS).
                            if redirect.address.host.isEmpty || redirect.address.host == "?" { redirect.address.host = seedHost }
                            if redirect.isAsk {
                                next.append((entry.index, redirect.address))
                            } else {
                                needsRefresh = true
                                next.append((entry.index, nil))
                            }
                        } else if case .everyPrimary = routes[entry.index], replies[entry.index] != nil {
                            // A broadcast answers with its first reply, or with an error any node gave.
                            if reply.errorMessage != nil { replies[entry.index] = reply }
                        } else {
                            replies[entry.index] = reply
                        }
                    }
                }
            }
            if var failure {
                // A node failed (a failover, a restart): read the map again for the caller's retry.
                try? await refreshTopology()
                failure.unconfirmedCommands = 0..<commands.count
                failure.partialReplies = []
                throw failure
            }
            if needsRefresh && !refreshed {
                try await refreshTopology()
                refreshed = true
            } else if needsRefresh {
                try await refreshTopology()
            }
            outstanding = next
        }
        guard outstanding.isEmpty else {
            throw RedisError(
                code: .clusterRouting,
                message: "a command was redirected more than \(Self.maximumRedirects) times (MOVED/ASK); the cluster is resharding or misconfigured")
        }
        return replies.map { $0 ?? .null }
    }

    /// Sends each target's commands (with `ASKING` before each asked one) concurrently; the own connection's
    /// share goes through its own socket.
    private static func send(
        _ targets: [(RedisConnection, [(index: Int, asking: Bool)])], commands: [RedisCommand], own: RedisConnection,
        timeoutMilliseconds: Int?
    ) async -> [([(index: Int, asking: Bool)], Result<[RESPValue], RedisError>)] {
        await withTaskGroup(of: (Int, Result<[RESPValue], RedisError>).self) { group in
            for (position, (connection, entries)) in targets.enumerated() {
                var batch: [RedisCommand] = []
                for entry in entries {
                    if entry.asking { batch.append(RedisCommand("ASKING")) }
                    batch.append(commands[entry.index])
                }
                let asked = entries.map(\.asking)
                group.addTask {
                    do throws(RedisError) {
                        let replies = connection === own
                            ? try await connection.directPipeline(batch, timeoutMilliseconds: timeoutMilliseconds)
                            : try await connection.pipeline(batch, timeoutMilliseconds: timeoutMilliseconds)
                        // Drop the ASKING replies: one reply per command, in order.
                        var kept: [RESPValue] = []
                        var cursor = 0
                        for wasAsked in asked {
                            if wasAsked { cursor += 1 }
                            kept.append(replies[cursor])
                            cursor += 1
                        }
                        return (position, .success(kept))
                    } catch {
                        return (position, .failure(error))
                    }
                }
            }
            var results = [([(index: Int, asking: Bool)], Result<[RESPValue], RedisError>)?](repeating: nil, count: targets.count)
            for await (position, result) in group { results[position] = (targets[position].1, result) }
            return results.compactMap { $0 }
        }
    }
}

/// A `MOVED <slot> <host>:<port>` or `ASK <slot> <host>:<port>` error reply.
struct Redirect {
    var isAsk: Bool
    var slot: Int
    var address: ClusterState.Address

    init?(_ message: String) {
        let parts = message.split(separator: " ")
        guard parts.count == 3, parts[0] == "MOVED" || parts[0] == "ASK", let slot = Int(parts[1]),
              let colon = parts[2].lastIndex(of: ":"), let port = Int(parts[2][parts[2].index(after: colon)...])
        else { return nil }
        isAsk = parts[0] == "ASK"
        self.slot = slot
        address = ClusterState.Address(host: String(parts[2][..<colon]), port: port)
    }
}
