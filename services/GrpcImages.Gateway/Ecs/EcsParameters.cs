using System.Globalization;
using System.Text.Json;

namespace GrpcImages.Gateway.Ecs;

/// <summary>
/// An action's parameters as the SDKs send them: PascalCase names, lists flattened ("AddAccount.1",
/// "DiskDeviceMapping.2.SnapshotId", "Tag.1.Key"). Every read is bounded; <see cref="RefuseUnread"/>
/// refuses a parameter the action does not take, as the real API does.
/// </summary>
public sealed class EcsParameters
{
    public const int MaxValueLength = 8 * 1024;
    public const int MaxListItems = 100;

    /// <summary>Parameters of the protocol itself and of every action (accepted, ignored where they mean nothing here).</summary>
    private static readonly HashSet<string> Common = new(StringComparer.Ordinal)
    {
        "Action", "Version", "Format", "AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce",
        "SignatureType", "Timestamp", "SecurityToken", "OwnerId", "OwnerAccount", "ResourceOwnerAccount", "ResourceOwnerId",
        "ResourceGroupId", "RegionId", "DryRun", "ClientToken", "AcceptLanguage",
    };

    private readonly Dictionary<string, string> _values;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public EcsParameters(IEnumerable<KeyValuePair<string, string>> values)
    {
        _values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in values)
        {
            if (value.Length > MaxValueLength)
            {
                throw EcsException.InvalidParameter(name, $"a value is at most {MaxValueLength} characters.");
            }
            if (!_values.TryAdd(name, value))
            {
                throw EcsException.InvalidParameter(name, "it is given more than once.");
            }
        }
    }

    public string Action => _values.GetValueOrDefault("Action", "");

    public string? Optional(string name)
    {
        _read.Add(name);
        return _values.TryGetValue(name, out var value) && value.Length > 0 ? value : null;
    }

    public string Required(string name) => Optional(name) ?? throw EcsException.MissingParameter(name);

    /// <summary>A string parameter, "" when absent.</summary>
    public string Text(string name) => Optional(name) ?? "";

    /// <summary>Parameters the action takes that mean nothing here (they shape a real machine or a real OSS role).</summary>
    public void Accept(params string[] names)
    {
        foreach (var name in names)
        {
            _read.Add(name);
        }
    }

    public bool Flag(string name) => Optional(name) is { } value && (bool.TryParse(value, out var flag)
        ? flag
        : throw EcsException.InvalidParameter(name, "it is true or false."));

    public int Number(string name, int fallback, int min, int max)
    {
        if (Optional(name) is not { } text)
        {
            return fallback;
        }
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw EcsException.InvalidParameter(name, $"it is a whole number from {min} to {max}.");
    }

    public long WholeNumber(string name, long fallback) =>
        Optional(name) is not { } text ? fallback
        : long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value
        : throw EcsException.InvalidParameter(name, "it is a whole number.");

    /// <summary>A flattened list of values: Name.1, Name.2, ... (at most 100).</summary>
    public IReadOnlyList<string> List(string name)
    {
        var items = new List<string>();
        for (var i = 1; i <= MaxListItems + 1 && Optional($"{name}.{i}") is { } value; i++)
        {
            items.Add(value);
        }
        return items.Count <= MaxListItems ? items : throw EcsException.InvalidParameter(name, $"it has at most {MaxListItems} items.");
    }

    /// <summary>A flattened list of objects: Name.1.Field, Name.2.Field, ... An index counts when any of its fields is set.</summary>
    public IReadOnlyList<Func<string, string?>> Objects(string name, params string[] fields)
    {
        var items = new List<Func<string, string?>>();
        for (var i = 1; i <= MaxListItems + 1; i++)
        {
            var prefix = $"{name}.{i}.";
            var values = fields.ToDictionary(f => f, f => Optional(prefix + f), StringComparer.Ordinal);
            if (values.Values.All(v => v is null))
            {
                break;
            }
            items.Add(field => values.TryGetValue(field, out var v) ? v : throw new ArgumentException($"{field} was not declared", nameof(field)));
        }
        return items.Count <= MaxListItems ? items : throw EcsException.InvalidParameter(name, $"it has at most {MaxListItems} items.");
    }

    /// <summary>A list given as a JSON array string (InstanceIds, SnapshotIds) or, as some actions accept, comma-separated.</summary>
    public IReadOnlyList<string> JsonList(string name)
    {
        if (Optional(name) is not { } text)
        {
            return [];
        }
        string[] items;
        if (text.TrimStart().StartsWith('['))
        {
            try
            {
                items = JsonSerializer.Deserialize<string[]>(text) ?? [];
            }
            catch (JsonException)
            {
                throw EcsException.InvalidParameter(name, "it is a JSON array of strings.");
            }
        }
        else
        {
            items = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        }
        return items.Length <= MaxListItems ? items : throw EcsException.InvalidParameter(name, $"it has at most {MaxListItems} items.");
    }

    /// <summary>Refuses the first parameter the action did not read and the protocol does not define.</summary>
    public void RefuseUnread()
    {
        foreach (var name in _values.Keys)
        {
            if (!_read.Contains(name) && !Common.Contains(name))
            {
                throw EcsException.BadRequest("InvalidParameter", $"The parameter \"{name}\" is not a parameter of {Action}.");
            }
        }
    }
}
