namespace GrpcImages.ServiceDefaults.Work;

/// <summary>
/// Fencing tokens in stores: a record written by queue workers keeps the highest token that wrote it
/// ("fence" field of a hash), and a write with a lower token is refused. A worker whose lease was
/// taken over holds a lower token than its successor, so once the successor has written, the old
/// worker can change nothing; include <see cref="Lua"/> in a store's script and call
/// <c>fenced(key, token)</c> before it commits.
/// </summary>
public static class Fencing
{
    public const string Field = "fence";

    public const string Lua = """
        local function fenced(key, token)
          local current = tonumber(redis.call('HGET', key, 'fence') or '0')
          if tonumber(token) < current then return false end
          redis.call('HSET', key, 'fence', token)
          return true
        end
        """;
}
