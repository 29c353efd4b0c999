using Google.Protobuf.WellKnownTypes;
using GrpcImages.Contracts.Kms.V1;

namespace GrpcImages.Client;

/// <summary>Gives the token to send with a call.</summary>
public interface ITokenProvider
{
    ValueTask<string?> GetTokenAsync(CancellationToken cancellationToken);
}

/// <summary>One token for every call (e.g. from an environment variable).</summary>
public sealed class StaticTokenProvider(string token) : ITokenProvider
{
    public ValueTask<string?> GetTokenAsync(CancellationToken cancellationToken) => ValueTask.FromResult<string?>(token);
}

/// <summary>
/// Tokens issued by the kms service and issued again before they expire (after 80% of their life),
/// so a long-running application never sends an expired one.
/// </summary>
public sealed class IssuedTokenProvider : ITokenProvider, IDisposable
{
    private readonly Func<CancellationToken, Task<IssueTokenResponse>> _issue;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _token;
    private DateTimeOffset _renewAt;

    public IssuedTokenProvider(Func<CancellationToken, Task<IssueTokenResponse>> issue, TimeProvider? time = null)
    {
        _issue = issue;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The operator's tokens, from its bootstrap credential.</summary>
    public static IssuedTokenProvider ForOperator(AccountService.AccountServiceClient accounts, string name, string credential, TimeSpan? ttl = null) =>
        new(async ct => await accounts.IssueTokenAsync(new IssueTokenRequest
        {
            OperatorName = name,
            OperatorCredential = credential,
            Ttl = ttl is null ? null : Duration.FromTimeSpan(ttl.Value),
        }, cancellationToken: ct));

    /// <summary>An account's root tokens, issued with a token of a principal allowed to (the operator, or the account itself).</summary>
    public static IssuedTokenProvider ForAccount(AccountService.AccountServiceClient issuer, string accountId, TimeSpan? ttl = null) =>
        new(async ct => await issuer.IssueTokenAsync(new IssueTokenRequest
        {
            AccountId = accountId,
            Ttl = ttl is null ? null : Duration.FromTimeSpan(ttl.Value),
        }, cancellationToken: ct));

    /// <summary>A RAM user's tokens, issued with its account's root token (or its own, to renew).</summary>
    public static IssuedTokenProvider ForRamUser(AccountService.AccountServiceClient issuer, string accountId, string userName, TimeSpan? ttl = null) =>
        new(async ct => await issuer.IssueTokenAsync(new IssueTokenRequest
        {
            RamUser = new RamUserSubject { AccountId = accountId, UserName = userName },
            Ttl = ttl is null ? null : Duration.FromTimeSpan(ttl.Value),
        }, cancellationToken: ct));

    public async ValueTask<string?> GetTokenAsync(CancellationToken cancellationToken)
    {
        if (_token is { } current && _time.GetUtcNow() < _renewAt)
        {
            return current;
        }
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_token is null || _time.GetUtcNow() >= _renewAt)
            {
                var now = _time.GetUtcNow();
                var issued = await _issue(cancellationToken);
                var life = issued.ExpireTime.ToDateTimeOffset() - now;
                _renewAt = now + (life * 0.8);
                _token = issued.Token;
            }
            return _token;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();
}
