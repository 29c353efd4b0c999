using GrpcImages.Console.Sessions;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace GrpcImages.Console.Tests;

/// <summary>R38: a console session signed in with an AccessKey pair lives while kms renews it, and ends when the pair is disabled.</summary>
public class SessionTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    [Fact]
    public async Task R38_a_session_is_renewed_while_its_pair_is_active_and_ends_once_the_pair_is_disabled()
    {
        var account = await Cluster.NewAccountAsync();
        var keys = account.Client<AccessKeyService.AccessKeyServiceClient>();
        var pair = await keys.CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });
        using var console = new ConsoleContext(Cluster, account: null);
        var signIn = console.Services.GetRequiredService<SessionSignIn>();
        var claims = await signIn.WithAccessKeyAsync(pair.AccessKey.AccessKeyId, pair.AccessKeySecret, CancellationToken.None);
        Assert.Equal(account.AccountId, claims.AccountId);
        Assert.DoesNotContain(pair.AccessKeySecret, claims.Token, StringComparison.Ordinal); // the cookie holds a token, never the secret
        var ended = 0;
        console.Session.Ended += () => ended++;

        // A token past half its life is renewed when the session is used.
        console.Session.Start(claims with { Expires = DateTimeOffset.UtcNow });
        var renewed = await console.Session.GetTokenAsync(CancellationToken.None);
        Assert.NotEqual(claims.Token, renewed);
        Assert.True(console.Session.IsActive);
        var who = await console.Session.Client.Accounts.GetCallerIdentityAsync(new GetCallerIdentityRequest());
        Assert.Equal(account.AccountId, who.Principal.AccountId);

        // The pair disabled: kms refuses the next renewal and the session ends (the page sends the person to sign in).
        await keys.UpdateAccessKeyAsync(new UpdateAccessKeyRequest { AccountId = account.AccountId, AccessKeyId = pair.AccessKey.AccessKeyId, Status = AccessKeyStatus.Inactive });
        using var again = new ConsoleContext(Cluster, account: null);
        again.Session.Ended += () => ended++;
        again.Session.Start(claims with { Token = renewed!, Expires = DateTimeOffset.UtcNow });
        Assert.Null(await again.Session.GetTokenAsync(CancellationToken.None));
        Assert.False(again.Session.IsActive);
        Assert.Equal(1, ended);
    }
}
