using Google.Protobuf.Collections;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.ServiceDefaults.Errors;

namespace GrpcImages.ServiceDefaults.Validation;

/// <summary>Input rules shared by every service (RULES.md, "Resources and their states"), each failing with the rule's code.</summary>
public static class Check
{
    public const int MaxTags = 20;
    public const int MaxClientTokenLength = 64;

    /// <summary>An account id: 16 decimal digits.</summary>
    public static bool IsAccountId(string value) => value.Length == 16 && value.All(char.IsAsciiDigit);

    public static string AccountId(string value, string field)
    {
        if (!IsAccountId(value))
        {
            throw Fault.InvalidArgument("InvalidAccountId.Malformed", field, "An account id is 16 decimal digits.");
        }
        return value;
    }

    /// <summary>Names of images, families, snapshots and instances: 2-128 characters, starting with a letter.</summary>
    public static bool IsName(string value)
    {
        if (value.Length is < 2 or > 128 || !char.IsAsciiLetter(value[0]))
        {
            return false;
        }
        if (value.StartsWith("aliyun", StringComparison.OrdinalIgnoreCase) ||
            value.StartsWith("acs:", StringComparison.OrdinalIgnoreCase) ||
            value.Contains("http://", StringComparison.OrdinalIgnoreCase) ||
            value.Contains("https://", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or ':' or '_' or '-'))
            {
                return false;
            }
        }
        return true;
    }

    public static string Name(string value, string field, string reason)
    {
        if (!IsName(value))
        {
            throw Fault.InvalidArgument(reason, field,
                "A name is 2-128 characters: it starts with a letter, holds only letters, digits, '.', ':', '_' and '-', " +
                "does not start with 'aliyun' or 'acs:' and does not contain 'http://' or 'https://'.");
        }
        return value;
    }

    /// <summary>An optional description: empty, or 2-256 characters not starting with http(s)://.</summary>
    public static string Description(string value, string field)
    {
        if (value.Length == 0)
        {
            return value;
        }
        if (value.Length is < 2 or > 256 ||
            value.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ||
            value.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            throw Fault.InvalidArgument("InvalidDescription.Malformed", field,
                "A description is 2-256 characters and does not start with http:// or https://.");
        }
        return value;
    }

    public static void Tags(RepeatedField<Tag> tags, string field = "tags")
    {
        if (tags.Count > MaxTags)
        {
            throw Fault.InvalidArgument("InvalidTagCount", field, $"A resource has at most {MaxTags} tags.");
        }
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < tags.Count; i++)
        {
            var tag = tags[i];
            if (tag.Key.Length is < 1 or > 128 ||
                tag.Key.StartsWith("aliyun", StringComparison.OrdinalIgnoreCase) ||
                tag.Key.StartsWith("acs:", StringComparison.OrdinalIgnoreCase) ||
                tag.Key.Contains("http://", StringComparison.OrdinalIgnoreCase) ||
                tag.Key.Contains("https://", StringComparison.OrdinalIgnoreCase))
            {
                throw Fault.InvalidArgument("InvalidTagKey.Malformed", $"{field}[{i}].key",
                    "A tag key is 1-128 characters, does not start with 'aliyun' or 'acs:' and contains no URL.");
            }
            if (tag.Value.Length > 128)
            {
                throw Fault.InvalidArgument("InvalidTagValue.Malformed", $"{field}[{i}].value", "A tag value is at most 128 characters.");
            }
            if (!keys.Add(tag.Key))
            {
                throw Fault.InvalidArgument("InvalidTagKey.Duplicated", $"{field}[{i}].key", $"The tag key '{tag.Key}' is given twice.");
            }
        }
    }

    /// <summary>R35: an optional client token of at most 64 ASCII characters.</summary>
    public static string ClientToken(string value, string field = "client_token")
    {
        if (value.Length > MaxClientTokenLength || value.Any(c => c is < ' ' or > '~'))
        {
            throw Fault.InvalidArgument("InvalidClientToken.Malformed", field,
                $"A client token is at most {MaxClientTokenLength} printable ASCII characters.");
        }
        return value;
    }

    /// <summary>The page size of a List call: default 10, cut to 100, negative refused.</summary>
    public static int PageSize(int requested, string field = "page_size")
    {
        if (requested < 0)
        {
            throw Fault.InvalidArgument("InvalidArgument", field, "The page size cannot be negative.");
        }
        return requested == 0 ? 10 : Math.Min(requested, 100);
    }

    /// <summary>The most matching items a List call skips before its page (AIP-158 skip).</summary>
    public const int MaxSkip = 10_000;

    /// <summary>How many matching items a List call skips before its page: 0 to <see cref="MaxSkip"/>, else InvalidParameter.</summary>
    public static int Skip(int requested, string field = "skip") =>
        requested is >= 0 and <= MaxSkip
            ? requested
            : throw Fault.InvalidArgument("InvalidParameter", field, $"Skip is 0 to {MaxSkip}: how many matching items to pass before the page starts.");

    /// <summary>Input as an error message may repeat it: cut to <paramref name="max"/> characters, so a huge value never swells a reply.</summary>
    /// <summary>
    /// A well-formed protobuf Duration within ±100 years (one of int64.Max seconds does not fit a
    /// TimeSpan); callers check their own range on the result.
    /// </summary>
    public static TimeSpan Duration(Google.Protobuf.WellKnownTypes.Duration value, string field, string reason = "InvalidParameter")
    {
        const long MaxSeconds = 100L * 366 * 24 * 3600;
        if (value.Seconds is < -MaxSeconds or > MaxSeconds || value.Nanos is < -999_999_999 or > 999_999_999 ||
            (value.Seconds > 0 && value.Nanos < 0) || (value.Seconds < 0 && value.Nanos > 0))
        {
            throw Fault.InvalidArgument(reason, field, "The duration is malformed or out of range.");
        }
        return value.ToTimeSpan();
    }

    public static string Echo(string value, int max = 64) => value.Length <= max ? value : value[..max] + "...";

    public static Site Site(Site site, string field)
    {
        if (site is not (Contracts.Common.V1.Site.Cn or Contracts.Common.V1.Site.Intl or Contracts.Common.V1.Site.Jp))
        {
            throw Fault.InvalidArgument("InvalidSite.Malformed", field, "The site must be SITE_CN, SITE_INTL or SITE_JP.");
        }
        return site;
    }
}
