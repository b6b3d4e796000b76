extension RedisCommand {
    /// `FCALL function numkeys key… arg…`: calls a function of a loaded Redis Functions library.
    public static func fcall(_ function: String, keys: [String], arguments: [any RedisArgument] = []) -> RedisCommand {
        var command = RedisCommand("FCALL", function, keys.count)
        for key in keys { command.append(key) }
        for argument in arguments { command.append(argument) }
        return command
    }

    /// `FUNCTION LOAD [REPLACE] source`.
    public static func functionLoad(_ source: String, replace: Bool = true) -> RedisCommand {
        replace ? RedisCommand("FUNCTION", "LOAD", "REPLACE", source) : RedisCommand("FUNCTION", "LOAD", source)
    }
}
