/// The least-privilege Redis ACL user FraudStream runs as: README's "Least privilege" section prints ``setUserCommand``
/// for the default namespace, and `LeastPrivilegeTests` runs `prepare`, `generate`, a worker, `serve`'s admin changes
/// and `doctor` as that user against a real redis-server, with `ACL LOG` empty afterwards.
public enum RedisACL {
    /// The ACL rules, in order: keys of the namespace only (`<ns>:*`, and `{<ns>:*` for the hash-tagged ones), no
    /// channels, and the command categories the product uses, less every `@dangerous` command (`FLUSHALL`, `KEYS`,
    /// `CONFIG`, `DEBUG`, `SHUTDOWN`, `MONITOR`, …) but `INFO` and the `CLUSTER` subcommands a client needs to route.
    public static func rules(namespace: String) -> [String] {
        [
            "resetkeys", "~\(namespace):*", "~{\(namespace):*", "resetchannels",
            "-@all", "+@read", "+@write", "+@scripting", "+@transaction", "+@connection",
            "-@dangerous", "+info", "+time", "+acl|whoami", "+cluster|slots", "+cluster|info", "+cluster|myid",
        ]
    }

    /// `ACL SETUSER <user> on >PASSWORD <rules>` as an operator types it into `redis-cli`.
    public static func setUserCommand(user: String = "fraudstream", namespace: String = "fraud") -> String {
        (["ACL", "SETUSER", user, "on", ">PASSWORD"] + rules(namespace: namespace)).joined(separator: " ")
    }
}
