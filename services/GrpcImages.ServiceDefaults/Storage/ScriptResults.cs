namespace GrpcImages.ServiceDefaults.Storage;

/// <summary>
/// Lua scripts answer with numbers that C# maps to enums; a number the enum does not define is a
/// bug (a script and its caller disagree) and throws instead of passing for success or a race.
/// </summary>
public static class ScriptResults
{
    public static T Map<T>(int value) where T : struct, Enum
    {
        var result = (T)Enum.ToObject(typeof(T), value);
        return Enum.IsDefined(result)
            ? result
            : throw new InvalidOperationException($"A script returned {value}, which {typeof(T).Name} does not define.");
    }
}

/// <summary>What a create script with a client token did (numbers the scripts return).</summary>
public enum CreateStatus
{
    Created = 1,
    /// <summary>The client token was used before: the script also returns its stored value (R35).</summary>
    TokenUsed = 2,
    /// <summary>A record with the same id or name exists.</summary>
    AlreadyExists = 3,
}
