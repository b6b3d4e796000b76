/// The kinds of fraud the synthetic world contains; a fraud row's `scenario` field holds the raw value.
public enum FraudScenario: String, Sendable, CaseIterable, Codable {
    /// A burst of tiny charges at many merchants (often online) from one device, testing a stolen card
    /// number; sometimes followed by one larger charge.
    case cardTesting = "card_testing"
    /// Someone else controls the account: new device, new IP, far from home, amounts well above the
    /// user's history; one to a few rows.
    case accountTakeover = "account_takeover"
    /// A stolen physical card used for many purchases within one or two hours across categories such as
    /// electronics, gift cards and jewelry.
    case stolenCardSpree = "stolen_card_spree"
    /// A cloned card used minutes after a genuine use, thousands of kilometres away (the later row is fraud).
    case impossibleTravel = "impossible_travel"
    /// A transaction from an IP on the blocklist.
    case blocklistedIP = "blocklisted_ip"
    /// One device firing many events within seconds, for one or several user ids.
    case clickSpam = "click_spam"
    /// One amount far above the user's own typical spend, in a category the user does not usually buy in.
    case amountSpike = "amount_spike"
    /// One fraudster device working through a list of stolen cards: each card (user) sees one or two ordinary-looking
    /// purchases from a device it never used, near its home; only the device's many cards within the hour give it
    /// away, which no per-user feature sees (a cross-entity feature does: `distinct(user_id) by device_id over 1h`).
    /// Only in worlds that ask for it (`--card-cycling-incidents`), so the default world stays as it was.
    case deviceCardCycling = "device_card_cycling"
}
