using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.ServiceDefaults.Errors;

namespace GrpcImages.ServiceDefaults.Identity;

/// <summary>The authenticated principal of a call (R36), read from its token.</summary>
public sealed record Caller(
    PrincipalKind Kind,
    string AccountId,
    string Name,
    Site Site,
    IReadOnlyList<string> AllowedActions)
{
    /// <summary>A RAM user's version when its token was issued (<see cref="RamUserVersions"/>).</summary>
    public string Version { get; init; } = "";

    /// <summary>The AccessKey pair the caller signed in with (the console), if any: its token is renewed only while the pair is active.</summary>
    public string AccessKeyId { get; init; } = "";

    /// <summary>The cluster service that forwarded this caller's call, if any.</summary>
    public string? ViaService { get; init; }

    public bool IsOperator => Kind == PrincipalKind.Operator;

    public bool IsAccount => Kind is PrincipalKind.AccountRoot or PrincipalKind.RamUser;

    public bool IsClusterService => Kind == PrincipalKind.Service || ViaService is not null;

    /// <summary>How audit records name the caller: "1234567890123456", "1234567890123456/alice", "operator:admin".</summary>
    public string Actor => Kind switch
    {
        PrincipalKind.AccountRoot => AccountId,
        PrincipalKind.RamUser => $"{AccountId}/{Name}",
        PrincipalKind.Operator => $"operator:{Name}",
        _ => $"service:{Name}",
    };

    public static Caller Root(string accountId, Site site) =>
        new(PrincipalKind.AccountRoot, accountId, "", site, []);

    public static Caller RamUser(string accountId, string name, Site site, IReadOnlyList<string> actions, string version = "") =>
        new(PrincipalKind.RamUser, accountId, name, site, actions) { Version = version };

    public static Caller Operator(string name) => new(PrincipalKind.Operator, "", name, Site.Unspecified, []);

    public static Caller Service(string name) => new(PrincipalKind.Service, "", name, Site.Unspecified, []);

    /// <summary>
    /// Whether a RAM user's allowed actions cover the action ("ecs:CreateImage", "ecs:*" or "*"), by its
    /// own name or by the ECS API action that it serves (<see cref="EcsActionNames"/>).
    /// </summary>
    public bool Allows(string action)
    {
        if (Kind != PrincipalKind.RamUser)
        {
            return true;
        }
        return Covers(action) || (EcsActionNames.Granting.TryGetValue(action, out var names) && names.Any(Covers));
    }

    private bool Covers(string action)
    {
        foreach (var allowed in AllowedActions)
        {
            if (allowed == "*" || string.Equals(allowed, action, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
            if (allowed.EndsWith(":*", StringComparison.Ordinal) &&
                action.StartsWith(allowed[..^1], StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The caller's account, for calls that act on an account's own resources.</summary>
    public string RequireAccount()
    {
        if (!IsAccount)
        {
            throw Fault.PermissionDenied("Forbidden.AccountRequired",
                "This operation acts on an account's resources; call it with an account's token.");
        }
        return AccountId;
    }

    public void RequireOperator()
    {
        if (!IsOperator)
        {
            throw Fault.PermissionDenied("Forbidden.OperatorOnly", "Only an operator may perform this operation.");
        }
    }

    /// <summary>
    /// Whether the caller may act on resources of the account: its own principals, operators
    /// and cluster services. Others must see the resource as missing (R36).
    /// </summary>
    public bool MayActFor(string accountId) =>
        IsOperator || IsClusterService || (IsAccount && AccountId == accountId);
}
