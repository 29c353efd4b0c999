using Google.Protobuf.WellKnownTypes;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Kms.Storage;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Kms.Domain;

/// <summary>Service roles an account authorizes so that the cluster may act for it (R22, R27, R29, CMK use).</summary>
public sealed class Roles(KeyStore store, TimeProvider time)
{
    public async Task<ServiceRole> CreateAsync(Caller caller, string accountId, string roleName)
    {
        var account = Account(caller, accountId);
        var role = Name(roleName);
        await store.AddRoleAsync(account, role, time.GetUtcNow());
        return await GetAsync(caller, account, role);
    }

    public async Task<ServiceRole> GetAsync(Caller caller, string accountId, string roleName)
    {
        var account = Account(caller, accountId);
        var role = Name(roleName);
        var created = await store.RoleCreatedAsync(account, role) ?? throw KmsErrors.RoleNotFound(role);
        return ToRole(account, role, created);
    }

    public async Task<IReadOnlyList<ServiceRole>> ListAsync(Caller caller, string accountId)
    {
        var account = Account(caller, accountId);
        return (await store.RolesAsync(account)).OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => ToRole(account, r.Key, r.Value)).ToList();
    }

    public async Task DeleteAsync(Caller caller, string accountId, string roleName) =>
        await store.DeleteRoleAsync(Account(caller, accountId), Name(roleName));

    /// <summary>Whether the account has authorized the role (for the cluster's own checks).</summary>
    public async Task<bool> HasAsync(string account, string role) => await store.RoleCreatedAsync(account, role) is not null;

    private static ServiceRole ToRole(string account, string role, long createdMs) => new()
    {
        AccountId = account,
        RoleName = role,
        Arn = $"acs:ram::{account}:role/{role.ToLowerInvariant()}",
        CreateTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(createdMs)),
    };

    /// <summary>The account the call is about: the caller's own unless an operator or a service of the cluster names another (R36).</summary>
    private static string Account(Caller caller, string accountId)
    {
        var account = accountId.Length == 0 && caller.IsAccount ? caller.AccountId : accountId;
        if (!Check.IsAccountId(account) || !caller.MayActFor(account))
        {
            throw Fault.NotFound("InvalidAccount.NotFound", $"The account {account} does not exist.");
        }
        return account;
    }

    private static string Name(string roleName) =>
        ServiceRoles.All.FirstOrDefault(r => r == roleName)
        ?? throw Fault.InvalidArgument("InvalidParameter.RoleName", "role_name", $"Service roles are {string.Join(", ", ServiceRoles.All)}.");
}
