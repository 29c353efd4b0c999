using Google.Protobuf.WellKnownTypes;
using GrpcImages.Client;
using GrpcImages.Contracts.Kms.V1;
using Microsoft.Extensions.Options;

namespace GrpcImages.Console.Sessions;

/// <summary>
/// Signs people in and keeps their tokens fresh. An AccessKey pair's secret is used once, here, to sign kms's
/// SignIn request, and dropped: kms checks it and returns a token naming the pair. The operator signs in with its
/// credential (IssueToken). A session's token is renewed with itself (IssueToken of its own principal), which kms
/// refuses once the pair is disabled or deleted, or the RAM user deleted or narrowed: the session then ends.
/// </summary>
public sealed class SessionSignIn(GrpcImagesChannels channels, IOptions<ConsoleOptions> options)
{
    private readonly GrpcImagesClient _anonymous = channels.CreateClient(null);

    public async Task<SessionClaims> WithAccessKeyAsync(string accessKeyId, string secret, CancellationToken cancellationToken)
    {
        var signedIn = await _anonymous.AccessKeys.SignInAsync(AccessKeySignIn.Request(accessKeyId, secret, options.Value.SessionTokenLifetime),
            cancellationToken: cancellationToken);
        return SessionClaims.From(signedIn.Principal, accessKeyId, signedIn.Token, signedIn.ExpireTime.ToDateTimeOffset());
    }

    public async Task<SessionClaims> AsOperatorAsync(string name, string credential, CancellationToken cancellationToken)
    {
        var issued = await _anonymous.Accounts.IssueTokenAsync(new IssueTokenRequest
        {
            OperatorName = name, OperatorCredential = credential, Ttl = Duration.FromTimeSpan(options.Value.SessionTokenLifetime),
        }, cancellationToken: cancellationToken);
        return SessionClaims.From(issued.Principal, "", issued.Token, issued.ExpireTime.ToDateTimeOffset());
    }

    /// <summary>A new token for the session's own principal, asked with its current one.</summary>
    public async Task<SessionClaims> RenewAsync(SessionClaims session, CancellationToken cancellationToken)
    {
        var request = new IssueTokenRequest { Ttl = Duration.FromTimeSpan(options.Value.SessionTokenLifetime) };
        switch (session.Kind)
        {
            case PrincipalKind.Operator:
                request.OperatorName = session.Name;
                break;
            case PrincipalKind.RamUser:
                request.RamUser = new RamUserSubject { AccountId = session.AccountId, UserName = session.Name };
                break;
            default:
                request.AccountId = session.AccountId;
                break;
        }
        var issued = await channels.CreateClient(new StaticTokenProvider(session.Token)).Accounts.IssueTokenAsync(request, cancellationToken: cancellationToken);
        return session.Renewed(issued.Token, issued.ExpireTime.ToDateTimeOffset());
    }

    /// <summary>Whether a session's token is past half its life (renewed then, so it never runs out while used).</summary>
    public bool IsDue(SessionClaims session, DateTimeOffset now) => session.Expires - now < options.Value.SessionTokenLifetime / 2;
}
