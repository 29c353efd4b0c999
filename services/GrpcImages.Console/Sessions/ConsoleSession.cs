using Grpc.Core;
using GrpcImages.Client;

namespace GrpcImages.Console.Sessions;

/// <summary>
/// The signed-in principal of one browser tab's connection (a Blazor circuit): its token, renewed as it is used, and
/// a client of the cluster that calls as it. When kms refuses to renew the token, or a service refuses it (the pair
/// disabled, the RAM user deleted), the session ends and the page sends the person to sign in again.
/// </summary>
public sealed class ConsoleSession(GrpcImagesChannels channels, SessionSignIn signIn, TimeProvider time) : ITokenProvider, IDisposable
{
    private readonly SemaphoreSlim _renewing = new(1, 1);
    private SessionClaims? _claims;
    private GrpcImagesClient? _client;

    /// <summary>Raised once when the session ends (the services no longer take its token).</summary>
    public event Action? Ended;

    public bool IsActive => _claims is not null;

    public SessionClaims Claims => _claims ?? throw new InvalidOperationException("No one is signed in.");

    /// <summary>The cluster, called as the signed-in principal.</summary>
    public GrpcImagesClient Client => _client ??= channels.CreateClient(this);

    public void Start(SessionClaims claims) => _claims ??= claims;

    public async ValueTask<string?> GetTokenAsync(CancellationToken cancellationToken)
    {
        var claims = _claims;
        if (claims is null || !signIn.IsDue(claims, time.GetUtcNow()))
        {
            return claims?.Token;
        }
        await _renewing.WaitAsync(cancellationToken);
        try
        {
            if (_claims is { } current && signIn.IsDue(current, time.GetUtcNow()))
            {
                _claims = await signIn.RenewAsync(current, cancellationToken);
            }
        }
        catch (GrpcImagesException refused) when (refused.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied)
        {
            End();
        }
        finally
        {
            _renewing.Release();
        }
        return _claims?.Token;
    }

    /// <summary>Ends the session when a service refused its token (it expired, or was revoked).</summary>
    public void Refused(GrpcImagesException error)
    {
        if (error.StatusCode == StatusCode.Unauthenticated)
        {
            End();
        }
    }

    private void End()
    {
        if (_claims is null)
        {
            return;
        }
        _claims = null;
        Ended?.Invoke();
    }

    public void Dispose() => _renewing.Dispose();
}
