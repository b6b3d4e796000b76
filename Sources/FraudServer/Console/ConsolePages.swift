import FraudCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Mustache
import NIOCore
import RedisClient

/// The console's routes and pages (``ConsoleServer``).
struct ConsolePages: Sendable {
    let configuration: ConsoleConfiguration
    let redis: RedisConnection
    let templates: MustacheLibrary
    let logger: Logger
    /// Every partition's review queue, kept in memory without the vectors.
    let reviews: ReviewIndex

    static let cookieName = "fs_console"

    /// A signed-in request: the session, and the API key it names as it is now.
    struct Principal {
        var session: ConsoleSession
        var key: APIKey
        var csrf: String
        var isAdmin: Bool { key.scopes.contains(.admin) }
        var actor: String { "console:\(key.name)" }
        var role: String { isAdmin ? "admin" : "read" }
    }

    func add(to router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok\n"))) }
        router.get("/login") { _, _ in page("login", ["title": "Sign in"]) }
        router.post("/login") { request, context in try await signIn(request, context) }
        router.post("/logout") { request, context in
            try await changing(request, context, adminOnly: false) { _, _ in
                var response = Response.redirect(to: "/login", type: .found)
                response.setCookie(sessionCookie(value: "", maxAge: 0))
                return response
            }
        }
        router.get("/") { request, context in try await signedIn(request) { principal in try await queue(request, principal) } }
        router.get("/decisions/{id}") { request, context in
            try await signedIn(request) { principal in try await decision(Self.transactionId(context), principal, message: nil) }
        }
        router.post("/decisions/{id}/label") { request, context in
            try await changing(request, context, adminOnly: true) { principal, form in
                try await label(Self.transactionId(context), form, principal)
            }
        }
        router.get("/overview") { request, _ in try await signedIn(request) { principal in try await overview(principal) } }
        router.get("/versions") { request, _ in
            try await signedIn(request) { principal in
                try await versions(principal, a: request.uri.queryParameters.get("a").flatMap { Int($0) },
                    b: request.uri.queryParameters.get("b").flatMap { Int($0) }, message: nil)
            }
        }
        router.post("/models/{version}/promote") { request, context in
            try await changing(request, context, adminOnly: true) { principal, form in
                try await promote(context.parameters.get("version").flatMap { Int($0) }, form, principal)
            }
        }
        router.get("/blocklist") { request, context in
            try await signedIn(request) { principal in try await blocklist(request.uri.queryParameters.get("ip"), principal, message: nil) }
        }
        router.post("/blocklist") { request, context in
            try await changing(request, context, adminOnly: true) { principal, form in try await changeBlocklist(form, principal) }
        }
    }

    /// The `{id}` path parameter, percent-decoded (links encode every character but letters, digits, `-`, `_`, `~`).
    static func transactionId(_ context: BasicRequestContext) -> String {
        let raw = context.parameters.get("id") ?? ""
        return raw.removingPercentEncoding ?? raw
    }

    // MARK: Sessions

    private func sessionCookie(value: String, maxAge: Int) -> Cookie {
        Cookie(name: Self.cookieName, value: value, maxAge: maxAge, path: "/", secure: configuration.tlsCertificate != nil, httpOnly: true, sameSite: .strict)
    }

    private func signIn(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        // A sign-in posted from another site would sign the victim in as the attacker (login CSRF).
        guard Self.sameOrigin(request) else {
            return page("login", ["title": "Sign in", "message": "Sign in from this page."], status: .forbidden)
        }
        let form = try await Self.form(request, context)
        let secret = (form["key"] ?? "").trimmingCharacters(in: .whitespaces)
        guard let id = APIKey.id(inSecret: secret), let key = try await currentKey(id: id), key.matches(secret) else {
            return page("login", ["title": "Sign in", "message": "That is not a current API key."], status: .unauthorized)
        }
        guard key.scopes.contains(.read) || key.scopes.contains(.admin) else {
            return page("login", ["title": "Sign in", "message": "The key '\(key.name)' has neither the read nor the admin scope."], status: .forbidden)
        }
        let session = configuration.signer.newSession(keyId: key.id)
        var response = Response.redirect(to: "/", type: .normal)
        response.setCookie(sessionCookie(value: configuration.signer.token(session), maxAge: Int(configuration.signer.lifetimeMilliseconds / 1000)))
        logger.notice("console sign-in", metadata: ["key": "\(key.name)"])
        return response
    }

    private func currentKey(id: String) async throws -> APIKey? {
        try await APIKeyStore(namespace: configuration.namespace).load(on: redis).first { $0.id == id }
    }

    private func principal(_ request: Request) async throws -> Principal? {
        guard let token = request.cookies[Self.cookieName]?.value, let session = configuration.signer.session(fromToken: token),
            let key = try await currentKey(id: session.keyId)
        else { return nil }
        return Principal(session: session, key: key, csrf: configuration.signer.csrfToken(session))
    }

    /// Runs `body` for a signed-in request; else a redirect to the sign-in page.
    private func signedIn(_ request: Request, _ body: (Principal) async throws -> Response) async throws -> Response {
        guard let principal = try await principal(request) else { return .redirect(to: "/login", type: .found) }
        return try await body(principal)
    }

    /// A `POST` that changes something: signed in, the session's CSRF token in the form, the request from this origin,
    /// and with `adminOnly` the admin scope; otherwise 401 or 403 and nothing is changed.
    private func changing(
        _ request: Request, _ context: BasicRequestContext, adminOnly: Bool, _ body: (Principal, [String: String]) async throws -> Response
    ) async throws -> Response {
        guard let principal = try await principal(request) else {
            return errorPage(nil, status: .unauthorized, title: "Signed out", message: "Sign in again.")
        }
        let form = try await Self.form(request, context)
        guard configuration.signer.isValidCSRF(form["csrf"] ?? "", for: principal.session), Self.sameOrigin(request) else {
            logger.warning("console request refused: missing or wrong CSRF token", metadata: ["key": "\(principal.key.name)", "path": "\(request.uri.path)"])
            return errorPage(principal, status: .forbidden, title: "Refused", message: "The form's security token is missing or wrong: reload the page and try again.")
        }
        if adminOnly && !principal.isAdmin {
            return errorPage(principal, status: .forbidden, title: "Not allowed", message: "The key '\(principal.key.name)' may look but not change: that needs the admin scope.")
        }
        return try await body(principal, form)
    }

    /// No `Origin` header, or one naming this host (a browser sends it with every cross-site `POST`).
    static func sameOrigin(_ request: Request) -> Bool {
        guard let origin = request.headers[.origin] else { return true }
        guard let host = request.head.authority else { return false }
        return origin == "http://\(host)" || origin == "https://\(host)"
    }

    /// An `application/x-www-form-urlencoded` body (at most 64 KiB), by field name (the last of a repeated name).
    static func form(_ request: Request, _ context: BasicRequestContext) async throws -> [String: String] {
        let body = try await request.body.collect(upTo: 65_536)
        var fields: [String: String] = [:]
        for pair in String(buffer: body).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String { text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text) }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    // MARK: Rendering

    private func page(_ name: String, _ values: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let html = templates.render(values, withTemplate: name) ?? "<!doctype html><p>page \(name) is missing</p>"
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[HTTPField.Name("Content-Security-Policy")!] = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    private func common(_ principal: Principal, title: String) -> [String: Any] {
        ["title": title, "actor": principal.key.name, "role": principal.role, "csrf": principal.csrf, "admin": principal.isAdmin]
    }

    private func errorPage(_ principal: Principal?, status: HTTPResponse.Status, title: String, message: String) -> Response {
        var values: [String: Any] = principal.map { common($0, title: title) } ?? ["title": title]
        values["message"] = message
        values["signedIn"] = principal != nil
        return page("error", values, status: status)
    }

    // MARK: Queue

    /// Open reviews (no label yet) of every partition, newest first (or highest score first), filtered.
    private func queue(_ request: Request, _ principal: Principal) async throws -> Response {
        let query = request.uri.queryParameters
        let reason = query.get("reason")?.trimmingCharacters(in: .whitespaces) ?? ""
        let minimum = query.get("min").flatMap { Double($0) }
        let maximum = query.get("max").flatMap { Double($0) }
        let partition = query.get("partition").flatMap { Int($0) }
        let byScore = query.get("sort") == "score"
        var values = common(principal, title: "Review queue")
        let onlyPartition = partition.flatMap { configuration.streams.isPartitioned && $0 >= 0 && $0 < configuration.streams.partitionCount ? $0 : nil }
        let (open, held) = try await reviews.open(partition: onlyPartition)
        var items = open.filter { item in
            let amount = Double(item.amount) ?? 0
            return (reason.isEmpty || item.reasons.split(separator: ",").contains(Substring(reason)))
                && (minimum.map { amount >= $0 } ?? true) && (maximum.map { amount <= $0 } ?? true)
        }
        if byScore { items.sort { (Double($0.score) ?? 0) > (Double($1.score) ?? 0) } }
        // Pages of 100; the filters travel with the page links.
        let pageSize = 100
        let pageNumber = max(0, min(query.get("page").flatMap { Int($0) } ?? 0, max(0, (items.count - 1) / pageSize)))
        let shown = Array(items.dropFirst(pageNumber * pageSize).prefix(pageSize))
        var linkQuery: [String] = []
        for name in ["reason", "min", "max", "partition", "sort"] {
            if let value = query.get(name), !value.isEmpty { linkQuery.append("\(name)=\(Self.pathComponent(value))") }
        }
        func pageLink(_ number: Int) -> String { "/?" + (linkQuery + ["page=\(number)"]).joined(separator: "&") }
        if pageNumber > 0 { values["previousPage"] = pageLink(pageNumber - 1) }
        if (pageNumber + 1) * pageSize < items.count { values["nextPage"] = pageLink(pageNumber + 1) }
        values["openCount"] = open.count
        values["capped"] = held >= reviews.capacity
        values["cap"] = reviews.capacity
        values["reason"] = reason
        values["min"] = query.get("min") ?? ""
        values["max"] = query.get("max") ?? ""
        values["partition"] = partition.map(String.init) ?? ""
        values["partitioned"] = configuration.streams.isPartitioned
        values["byScore"] = byScore
        values["byNewest"] = !byScore
        values["filtered"] = !reason.isEmpty || minimum != nil || maximum != nil
        values["reasonOptions"] = Array(Set(open.flatMap { $0.reasons.split(separator: ",").map(String.init) })).sorted()
        values["shown"] = shown.count == items.count ? "\(shown.count)" : "\(pageNumber * pageSize + 1)–\(pageNumber * pageSize + shown.count) of \(items.count)"
        // The notice after a label, built here from what Redis holds (never free text from the link).
        if let labelled = query.get("labelled"), let label = query.get("label"), label == "fraud" || label == "legit",
            try await redis.send(RedisCommand("HGET", ReviewQueue(streams: configuration.streams).labelsKey, labelled)).string == (label == "fraud" ? "1" : "0") {
            values["message"] = "\(labelled) labelled \(label)."
        }
        values["items"] = shown.map { item -> [String: Any] in
            ["transactionId": item.transactionId, "link": Self.pathComponent(item.transactionId), "userId": item.userId, "score": item.score, "amount": item.amount,
             "reasons": item.reasons.replacingOccurrences(of: ",", with: ", "), "admin": principal.isAdmin, "csrf": principal.csrf]
        }
        return page("queue", values)
    }

    // MARK: Decision

    private func decision(_ transactionId: String, _ principal: Principal, message: String?) async throws -> Response {
        let review = try await reviews.review(transactionId)
        let result = try await recentResult(transactionId, near: review?.id)
        guard review != nil || result != nil else {
            return errorPage(principal, status: .notFound, title: "Not found", message: "No recent decision or review for '\(transactionId)'.")
        }
        var values = common(principal, title: "Decision \(transactionId)")
        values["message"] = message
        values["transactionId"] = transactionId
        values["link"] = Self.pathComponent(transactionId)
        values["decision"] = result?.decision ?? "review"
        values["score"] = result.map { String(format: "%.6f", $0.score) } ?? review?.score ?? ""
        values["userId"] = result?.userId ?? review?.userId ?? ""
        values["amount"] = result.map { "\($0.amount)" } ?? review?.amount ?? ""
        values["runId"] = result?.runId ?? review?.runId ?? ""
        let modelVersion = result?.modelVersion ?? review?.modelVersion
        values["modelVersion"] = modelVersion.map(String.init) ?? "unknown"
        values["rulesVersion"] = result?.rulesVersion.map(String.init) ?? "unknown"
        if let shadow = result?.shadowScore {
            values["shadowScore"] = String(format: "%.6f", shadow)
            values["shadowModelVersion"] = result?.shadowModelVersion.map(String.init) ?? ""
        }
        let label = try await redis.send(RedisCommand("HGET", ReviewQueue(streams: configuration.streams).labelsKey, transactionId)).string
        values["label"] = label == "1" ? "fraud" : label == "0" ? "legit" : "none"
        if let evidence = result?.evidence {
            values["evidence"] = [
                ("merchant", evidence.merchantId), ("currency", evidence.currency), ("card provider", evidence.cardProvider ?? ""),
                ("merchant category", evidence.merchantCategory ?? ""), ("location", evidence.lat.flatMap { lat in evidence.lon.map { "\(lat), \($0)" } } ?? ""),
                ("device", evidence.deviceId ?? ""), ("IP", evidence.ip ?? ""),
            ].filter { !$0.1.isEmpty }.map { ["name": $0.0, "value": $0.1] }
        }
        // Each reason with the text of the rule that gives it, from the rule set version that decided.
        let rules = try? await RuleStore(namespace: configuration.namespace).load(result?.rulesVersion == 0 ? nil : result?.rulesVersion, on: redis)
        let ruleText = Self.rulesByReason(result?.rulesVersion == 0 ? RuleSet.defaultText : rules?.ruleSet.text ?? RuleSet.defaultText)
        let reasons = (result?.reasons ?? review?.reasons.split(separator: ",").map(String.init) ?? []).filter { !$0.isEmpty }
        values["reasons"] = reasons.map { reason -> [String: Any] in ["code": reason, "rule": ruleText[reason] as Any] }
        // The explanation: the deciding model's split of the margin over the vector the decision was made on.
        let vector = review?.features ?? result?.evidence?.features.map { Array($0.prefix(FeatureSchema.count)) }
        let model: ModelRecord? = if let version = modelVersion { try? await ModelStore(namespace: configuration.namespace).load(version, on: redis) } else { nil }
        // Only a model that reads built-in features alone can be explained from the vector kept (the built-in ones).
        let builtIn = Set(FeatureSchema.names)
        if let vector, vector.count == FeatureSchema.count, let version = modelVersion, let model,
            model.featureNames.allSatisfy(builtIn.contains) {
            let split = model.contributions(vector)
            let margin = split.base + split.features.reduce(0, +)
            values["explained"] = true
            values["explainedVersion"] = version
            values["baseMargin"] = String(format: "%.6f", split.base)
            values["margin"] = String(format: "%.6f", margin)
            values["probability"] = String(format: "%.6f", 1 / (1 + exp(-margin)))
            let rows = zip(FeatureSchema.names, zip(vector, split.features)).map { (name: $0.0, value: $0.1.0, contribution: $0.1.1) }
                .sorted { abs($0.contribution) > abs($1.contribution) }
            values["contributions"] = rows.map { ["name": $0.name, "value": Self.number($0.value), "contribution": String(format: "%.6f", $0.contribution)] }
            values["svg"] = Self.contributionChart(rows.prefix(12).map { ($0.name, $0.contribution) })
        } else {
            values["explanationMissing"] =
                if vector == nil {
                    "No feature vector was kept for this decision (only review decisions keep one, or every decision with --evidence full)."
                } else if model == nil {
                    "Model version \(modelVersion.map(String.init) ?? "unknown") is no longer stored."
                } else {
                    "Model version \(modelVersion.map(String.init) ?? "unknown") reads features of a feature set, which the vector kept does not hold."
                }
        }
        let userId = result?.userId ?? review?.userId ?? ""
        var history: [ConsoleHistoryRow]
        if let archived = configuration.archivedHistory {
            do {
                history = try await archived(userId, 21)
                values["historySource"] = "From the decision archive (PostgreSQL): the newest 20."
            } catch {
                logger.warning("reading a user's decisions from the archive failed; showing the newest results", metadata: ["error": "\(error)"])
                history = try await recentHistory(user: userId)
                values["historySource"] = "The archive could not be read; among the newest \(configuration.resultsScanLimit) results of each partition."
            }
        } else {
            history = try await recentHistory(user: userId)
            values["historySource"] = "Among the newest \(configuration.resultsScanLimit) results of each partition (the archive keeps every one: console --postgres-url reads it)."
        }
        values["history"] = history.filter { $0.transactionId != transactionId }.prefix(20).map { row -> [String: Any] in
            ["transactionId": row.transactionId, "link": Self.pathComponent(row.transactionId), "decision": row.decision,
             "score": String(format: "%.6f", row.score), "amount": "\(row.amount)", "reasons": row.reasons.joined(separator: ", ")]
        }
        return page("decision", values)
    }

    /// The result of `transactionId`: a review's is written in the same call as its review entry, so it is looked for
    /// within 5 ms of `near` (the review entry's id: measured, the two ids are at most 1 ms apart); otherwise among the
    /// newest results.
    private func recentResult(_ transactionId: String, near: String?) async throws -> ResultRecord? {
        if let near, let milliseconds = StreamID(near)?.milliseconds {
            for partition in configuration.streams.partitions {
                let entries = try await redis.send(XRange(
                    stream: partition.results, start: "\(milliseconds >= 5 ? milliseconds - 5 : 0)", end: "\(milliseconds + 5)", count: 20_000))
                if let entry = entries.first(where: { $0.value(of: "transaction_id") == transactionId }) {
                    return ResultRecord(id: entry.id, fields: entry.fields)
                }
            }
        }
        return try await scanResults(field: "transaction_id", equal: transactionId).first
    }

    private func recentHistory(user: String) async throws -> [ConsoleHistoryRow] {
        guard !user.isEmpty else { return [] }
        return try await scanResults(field: "user_id", equal: user).map {
            ConsoleHistoryRow(transactionId: $0.transactionId, decision: $0.decision, score: $0.score, amount: $0.amount, reasons: $0.reasons)
        }
    }

    /// Results whose `field` is `value`, newest first, from the newest ``ConsoleConfiguration/resultsScanLimit`` of
    /// each partition (only the matches are decoded).
    private func scanResults(field: String, equal value: String) async throws -> [ResultRecord] {
        var found: [ResultRecord] = []
        for partition in configuration.streams.partitions {
            let entries = try await redis.send(XRange(stream: partition.results, count: configuration.resultsScanLimit, reverse: true))
            found += entries.filter { $0.value(of: field) == value }.compactMap { ResultRecord(id: $0.id, fields: $0.fields) }
        }
        return found.sorted { $0.id > $1.id }
    }

    /// Reason code → the rule line that gives it (comments dropped).
    static func rulesByReason(_ text: String) -> [String: String] {
        var rules: [String: String] = [:]
        for line in RuleSet.lines(text) {
            let rule = RuleSet.withoutComment(line).trimmingCharacters(in: .whitespaces)
            let words = rule.split(separator: " ")
            if let at = words.firstIndex(of: "reason"), at + 1 < words.count, rules[String(words[at + 1])] == nil {
                rules[String(words[at + 1])] = rule
            }
        }
        return rules
    }

    static func number(_ value: Double) -> String {
        value.isNaN ? "absent" : value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.4f", value)
    }

    /// A horizontal bar chart of contributions, with an axis at zero, ticks and their values (log-odds).
    static func contributionChart(_ rows: [(name: String, contribution: Double)]) -> String {
        let width = 640.0, labelWidth = 170.0, rowHeight = 22.0, top = 24.0
        let largest = max(rows.map { abs($0.contribution) }.max() ?? 0, 1e-9)
        let half = (width - labelWidth - 20) / 2
        let zero = labelWidth + half
        let height = top + rowHeight * Double(rows.count) + 10
        var svg = "<svg role=\"img\" aria-label=\"Contributions to the margin\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">"
        for tick in [-1.0, -0.5, 0, 0.5, 1.0] {
            let x = zero + tick * half
            svg += "<line x1=\"\(x)\" y1=\"\(top - 4)\" x2=\"\(x)\" y2=\"\(height - 10)\" stroke=\"#ccd\" />"
            svg += "<text x=\"\(x)\" y=\"12\" text-anchor=\"middle\">\(String(format: "%+.2f", tick * largest))</text>"
        }
        for (index, row) in rows.enumerated() {
            let y = top + rowHeight * Double(index)
            let length = abs(row.contribution) / largest * half
            let x = row.contribution >= 0 ? zero : zero - length
            let colour = row.contribution >= 0 ? "#b00020" : "#1d6b2c"
            svg += "<text x=\"\(labelWidth - 6)\" y=\"\(y + 15)\" text-anchor=\"end\">\(escape(row.name))</text>"
            svg += "<rect x=\"\(x)\" y=\"\(y + 4)\" width=\"\(max(length, 0.5))\" height=\"\(rowHeight - 8)\" fill=\"\(colour)\"><title>\(escape(row.name)): \(String(format: "%+.4f", row.contribution))</title></rect>"
        }
        return svg + "</svg>"
    }

    /// `text` as one URL path segment.
    static func pathComponent(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-_~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }

    private func label(_ transactionId: String, _ form: [String: String], _ principal: Principal) async throws -> Response {
        guard let label = form["label"], label == "fraud" || label == "legit" else {
            return errorPage(principal, status: .badRequest, title: "Bad request", message: "The label must be fraud or legit.")
        }
        // Only a transaction the console knows (a review, or a recent result) is labelled.
        var known = try await reviews.review(transactionId) != nil
        if !known { known = try await recentResult(transactionId, near: nil) != nil }
        guard known else {
            return errorPage(principal, status: .notFound, title: "Not found", message: "No review or recent decision for '\(transactionId)'.")
        }
        try await ReviewQueue(streams: configuration.streams).label(
            [(transactionId, label == "fraud")], actor: principal.actor, action: "review.resolve", on: redis)
        logger.info("labelled in the console", metadata: ["transaction": "\(transactionId)", "label": "\(label)", "actor": "\(principal.actor)"])
        if form["next"] == "queue" {
            return .redirect(to: "/?labelled=\(Self.pathComponent(transactionId))&label=\(label)", type: .normal)
        }
        return try await decision(transactionId, principal, message: "Labelled \(label).")
    }

    // MARK: Overview and versions

    /// The last hour and the last day from the fraud counts over time, and the champion and shadow models.
    private func overview(_ principal: Principal) async throws -> Response {
        let series = TimeSeries(streams: configuration.streams)
        let now = try await TimeSeries.serverMilliseconds(on: redis)
        var windows: [[String: Any]] = []
        for (id, title, minutes) in [("hour", "Last hour", 60), ("day", "Last day", 1_440)] {
            let points = try await series.read(from: now - Int64(minutes - 1) * 60_000, to: now, resolution: .minute, on: redis)
            var totals: [String: Int] = [:]
            for point in points { for (metric, count) in point.counts { totals[metric, default: 0] += count } }
            let scored = totals["scored"] ?? 0
            let reasons = totals.filter { $0.key.hasPrefix("reason:") }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(10)
            windows.append([
                "id": id, "title": title, "scored": scored, "approve": totals["approve"] ?? 0, "review": totals["review"] ?? 0,
                "decline": totals["decline"] ?? 0, "deadLetters": totals["dead_letter"] ?? 0,
                "fraudRate": scored > 0 ? String(format: "%.2f%%", Double(totals["fraud"] ?? 0) * 100 / Double(scored)) : "n/a",
                "svg": RunPlot.window(points: points, stepSeconds: 60, title: "\(title), per minute", xLabel: "minutes from the window's start"),
                "reasons": reasons.map { reason -> [String: Any] in
                    ["code": String(reason.key.dropFirst(7)), "hits": reason.value,
                     "share": scored > 0 ? String(format: "%.2f%%", Double(reason.value) * 100 / Double(scored)) : "n/a"]
                },
            ])
        }
        var values = common(principal, title: "Overview")
        values["windows"] = windows
        let models = ModelStore(namespace: configuration.namespace)
        var rows: [[String: Any]] = []
        for (role, version) in [("champion", try await models.latestVersion(on: redis)), ("shadow", try await models.shadowVersion(on: redis))] {
            guard let version, let record = try? await models.load(version, on: redis) else { continue }
            rows.append(["role": role] .merging(Self.modelColumns(record)) { first, _ in first })
        }
        values["models"] = rows
        // Each rule's hits and precision on labelled traffic, in the run of the newest result (the run statistics).
        if let newest = try await redis.send(XRange(stream: configuration.streams.partitions[0].results, count: 1, reverse: true)).first,
            let run = newest.value(of: "run_id"), !run.isEmpty {
            let statistics = try await RunStatistics.load(
                run: run, namespace: configuration.namespace, resultsStreams: configuration.streams.partitions.map(\.results), on: redis)
            values["run"] = run
            values["rules"] = statistics.counters.filter { $0.key.hasPrefix("reason:") }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { entry -> [String: Any] in
                    let code = String(entry.key.dropFirst(7))
                    let labelled = statistics.counters["reason_labelled:" + code] ?? 0
                    let fraud = statistics.counters["reason_fraud:" + code] ?? 0
                    return ["code": code, "hits": entry.value, "labelled": labelled,
                            "precision": labelled > 0 ? String(format: "%.1f%%", Double(fraud) * 100 / Double(labelled)) : "n/a"]
                }
        }
        return page("overview", values)
    }

    static func modelColumns(_ record: ModelRecord) -> [String: Any] {
        ["version": record.version, "kind": record.kind, "rocAUC": String(format: "%.4f", record.metrics.rocAUC), "prAUC": String(format: "%.4f", record.metrics.prAUC),
         "precision": String(format: "%.4f", record.metrics.precision), "recall": String(format: "%.4f", record.metrics.recall),
         "created": Self.date(record.createdMilliseconds)]
    }

    static func date(_ milliseconds: Int64) -> String {
        milliseconds > 0 ? ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000)) : "built in"
    }

    /// Model versions (newest 20) with their evaluation, rule set versions, and a diff of two rule sets.
    private func versions(_ principal: Principal, a: Int?, b: Int?, message: String?, status: HTTPResponse.Status = .ok) async throws -> Response {
        var values = common(principal, title: "Versions")
        values["message"] = message
        let models = ModelStore(namespace: configuration.namespace)
        let champion = try await models.latestVersion(on: redis)
        let shadow = try await models.shadowVersion(on: redis)
        var modelRows: [[String: Any]] = []
        for version in try await models.versions(on: redis).sorted(by: >).prefix(20) {
            guard let record = try? await models.load(version, on: redis) else { continue }
            var row = Self.modelColumns(record)
            row["role"] = version == champion ? "champion" : version == shadow ? "shadow" : ""
            row["champion"] = version == champion
            row["admin"] = principal.isAdmin
            row["csrf"] = principal.csrf
            modelRows.append(row)
        }
        values["models"] = modelRows
        let rules = RuleStore(namespace: configuration.namespace)
        let deciding = try await rules.latestVersion(on: redis) ?? 0
        var ruleRows: [[String: Any]] = []
        for version in (try await rules.versions(on: redis)).sorted(by: >).prefix(50) + [0] {
            guard let loaded = try? await rules.load(version == 0 ? nil : version, on: redis) else { continue }
            let entry = version == 0 ? RuleStore.Version.builtIn : loaded
            ruleRows.append(["version": version, "created": Self.date(entry.createdMilliseconds), "note": entry.note, "deciding": version == deciding])
        }
        values["rules"] = ruleRows
        values["a"] = a.map(String.init) ?? ""
        values["b"] = b.map(String.init) ?? ""
        if let a, let b {
            let texts = try await [a, b].asyncMap { version in
                version == 0 ? RuleSet.defaultText : (try? await rules.load(version, on: redis))?.ruleSet.text
            }
            if let old = texts[0], let new = texts[1] {
                values["diff"] = ["lines": Self.diff(old, new).map { ["kind": $0.kind, "sign": $0.sign, "text": $0.text] }]
            } else {
                values["message"] = "No rule set version \(texts[0] == nil ? a : b)."
            }
        }
        return page("versions", values, status: status)
    }

    /// A line diff (longest common subsequence) of two rule set texts.
    static func diff(_ old: String, _ new: String) -> [(kind: String, sign: String, text: String)] {
        let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard a.count * b.count <= 1_000_000 else {
            return a.map { ("removed", "-", $0) } + b.map { ("added", "+", $0) }
        }
        var lengths = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                lengths[i][j] = a[i] == b[j] ? lengths[i + 1][j + 1] + 1 : max(lengths[i + 1][j], lengths[i][j + 1])
            }
        }
        var lines: [(kind: String, sign: String, text: String)] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] {
                lines.append(("same", " ", a[i]))
                i += 1
                j += 1
            } else if j < b.count, i == a.count || lengths[i][j + 1] >= lengths[i + 1][j] {
                lines.append(("added", "+", b[j]))
                j += 1
            } else {
                lines.append(("removed", "-", a[i]))
                i += 1
            }
        }
        return lines
    }

    /// Promotes a model version (admin, confirmed); under maker-checker it is a proposal another admin approves.
    private func promote(_ version: Int?, _ form: [String: String], _ principal: Principal) async throws -> Response {
        guard let version else { return errorPage(principal, status: .badRequest, title: "Bad request", message: "No such version.") }
        guard form["confirm"] == "yes" else {
            return try await versions(principal, a: nil, b: nil, message: "Tick the confirmation to promote model \(version).", status: .badRequest)
        }
        let models = ModelStore(namespace: configuration.namespace)
        // A version this build cannot serve is refused before anything changes.
        guard (try? await models.load(version, on: redis)) != nil else {
            return try await versions(principal, a: nil, b: nil, message: "Model version \(version) cannot be loaded.", status: .unprocessableContent)
        }
        let approvals = ApprovalStore(namespace: configuration.namespace)
        if try await approvals.isRequired(.modelsPromote, on: redis) {
            let proposal = try await approvals.propose(.modelsPromote, target: String(version), actor: principal.actor, on: redis)
            return try await versions(principal, a: nil, b: nil, message: "Promotion of model \(version) proposed (\(proposal.id)); another admin approves it.")
        }
        try await models.promote(version, actor: principal.actor, on: redis)
        logger.notice("model promoted in the console", metadata: ["version": "\(version)", "actor": "\(principal.actor)"])
        return try await versions(principal, a: nil, b: nil, message: "Model \(version) promoted: workers and servers switch to it between batches.")
    }

    // MARK: Blocklist

    private var store: FeatureStore { FeatureStore(namespace: configuration.namespace) }

    private func stored(_ ip: String) -> String { configuration.pseudonymizer?.map(ip, field: "ip") ?? ip }

    private func blocklist(_ ip: String?, _ principal: Principal, message: String?, status: HTTPResponse.Status = .ok) async throws -> Response {
        var values = common(principal, title: "Blocklist")
        let size = try await store.blocklistSize(on: redis)
        values["members"] = size.members
        values["capacity"] = size.capacity > 0 ? "\(size.capacity)" : nil
        values["message"] = message
        values["makerChecker"] = try await ApprovalStore(namespace: configuration.namespace).isRequired(.blocklistRemove, on: redis)
        if let ip, !ip.isEmpty {
            values["ip"] = ip
            if IPAddress.isValid(ip) {
                values["checked"] = true
                values["listed"] = try await store.blocklistMembership([stored(ip)], on: redis)[0].listed
            } else {
                values["message"] = "'\(ip.prefix(60))' is not an IPv4 or IPv6 address."
            }
        }
        return page("blocklist", values, status: status)
    }

    private func changeBlocklist(_ form: [String: String], _ principal: Principal) async throws -> Response {
        let ip = (form["ip"] ?? "").trimmingCharacters(in: .whitespaces)
        guard IPAddress.isValid(ip) else {
            return try await blocklist(nil, principal, message: "'\(ip.prefix(60))' is not an IPv4 or IPv6 address.", status: .unprocessableContent)
        }
        switch form["action"] {
        case "add":
            let addition = try await store.listOnBlocklist([stored(ip)], actor: principal.actor, on: redis)
            return try await blocklist(ip, principal, message: addition.newlyListed.first == true ? "\(ip) added." : "\(ip) was already listed.")
        case "remove":
            let approvals = ApprovalStore(namespace: configuration.namespace)
            if try await approvals.isRequired(.blocklistRemove, on: redis) {
                let proposal = try await approvals.propose(.blocklistRemove, target: stored(ip), actor: principal.actor, on: redis)
                return try await blocklist(ip, principal, message: "Removal of \(ip) proposed (\(proposal.id)); another admin approves it.")
            }
            let removed = try await store.removeFromBlocklist([stored(ip)], actor: principal.actor, on: redis)[0]
            return try await blocklist(ip, principal, message: removed ? "\(ip) removed." : "\(ip) was not listed.")
        default:
            return errorPage(principal, status: .badRequest, title: "Bad request", message: "The action must be add or remove.")
        }
    }
}
