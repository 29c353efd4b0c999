using System.Security.Cryptography;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Identity;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace GrpcImages.ServiceDefaults.Tests;

public class TokenServiceTests
{
    private static readonly string Key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private static TokenService Service(TimeProvider time, string? key = null) =>
        new(Options.Create(new IdentityOptions { SigningKey = key ?? Key }), time);

    [Fact]
    public async Task ATokenCarriesItsPrincipal()
    {
        var tokens = Service(TimeProvider.System);
        var token = tokens.Issue(Caller.RamUser("1234567890123456", "alice", Site.Jp, ["ecs:CreateImage", "oss:*"]), TimeSpan.FromHours(1), out _);

        var caller = await tokens.ValidateAsync(token);

        Assert.Equal(PrincipalKind.RamUser, caller.Kind);
        Assert.Equal("1234567890123456", caller.AccountId);
        Assert.Equal("alice", caller.Name);
        Assert.Equal(Site.Jp, caller.Site);
        Assert.Equal(["ecs:CreateImage", "oss:*"], caller.AllowedActions);
    }

    [Fact]
    public async Task ATokenSignedWithAnotherKeyIsRejected()
    {
        var forged = Service(TimeProvider.System, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)))
            .Issue(Caller.Operator("admin"), TimeSpan.FromHours(1), out _);

        var ex = await Assert.ThrowsAsync<DomainException>(async () => await Service(TimeProvider.System).ValidateAsync(forged));
        Assert.Equal("InvalidSecurityToken.MismatchWithSignature", ex.Reason);
    }

    [Fact]
    public async Task ATamperedTokenIsRejected()
    {
        var tokens = Service(TimeProvider.System);
        var token = tokens.Issue(Caller.Root("1234567890123456", Site.Cn), TimeSpan.FromHours(1), out _);
        var parts = token.Split('.');
        var payload = System.Text.Encoding.UTF8.GetString(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(parts[1]))
            .Replace("1234567890123456", "6543210987654321");
        var tampered = $"{parts[0]}.{Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(payload)}.{parts[2]}";

        var ex = await Assert.ThrowsAsync<DomainException>(async () => await tokens.ValidateAsync(tampered));
        Assert.Equal("InvalidSecurityToken.MismatchWithSignature", ex.Reason);
    }

    [Fact]
    public async Task AnExpiredTokenIsRejectedEvenAfterItWasCached()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var tokens = Service(time);
        var token = tokens.Issue(Caller.Root("1234567890123456", Site.Cn), TimeSpan.FromMinutes(10), out _);
        await tokens.ValidateAsync(token); // cached now

        time.Advance(TimeSpan.FromMinutes(11));

        var ex = await Assert.ThrowsAsync<DomainException>(async () => await tokens.ValidateAsync(token));
        Assert.Equal("InvalidSecurityToken.Expired", ex.Reason);
        Assert.Equal(Grpc.Core.StatusCode.Unauthenticated, ex.Code);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not.a.jwt")]
    [InlineData("eyJhbGciOiJub25lIn0.eyJrbmQiOiJvcGVyYXRvciJ9.")] // alg=none
    public async Task GarbageIsMalformedOrUnsigned(string token)
    {
        var ex = await Assert.ThrowsAsync<DomainException>(async () => await Service(TimeProvider.System).ValidateAsync(token));
        Assert.Equal(Grpc.Core.StatusCode.Unauthenticated, ex.Code);
    }

    [Fact]
    public void AShortSigningKeyIsRefusedAtStart() =>
        Assert.Throws<InvalidOperationException>(() => Service(TimeProvider.System, Convert.ToBase64String(new byte[16])));

    [Theory]
    [InlineData("ecs:CreateImage", "ecs:CreateImage", true)]
    [InlineData("ecs:*", "ecs:DeleteImage", true)]
    [InlineData("*", "kms:CreateKey", true)]
    [InlineData("ecs:*", "oss:GetObject", false)]
    [InlineData("ecs:CreateImage", "ecs:CreateImageX", false)]
    [InlineData("ecs:Create*", "ecs:CreateImage", false)] // only whole-product wildcards
    [InlineData("ecs:DescribeImages", "ecs:ListImages", true)] // an ECS API policy allows the RPCs serving its action
    [InlineData("ecs:DescribeImages", "ecs:GetImage", true)]
    [InlineData("ecs:RunInstances", "ecs:CreateInstance", true)]
    [InlineData("ecs:DescribeImages", "ecs:DeleteImage", false)]
    [InlineData("ecs:ListImages", "ecs:DescribeImages", false)] // not the other way round
    public void RamUsersMayDoOnlyTheirAllowedActions(string allowed, string action, bool expected) =>
        Assert.Equal(expected, Caller.RamUser("1234567890123456", "bob", Site.Cn, [allowed]).Allows(action));

    [Fact]
    public void RootsOperatorsAndServicesAreNotLimitedByActions()
    {
        Assert.True(Caller.Root("1234567890123456", Site.Cn).Allows("ecs:DeleteImage"));
        Assert.True(Caller.Operator("admin").Allows("ram:CreateAccount"));
        Assert.True(Caller.Service("catalog").Allows("ecs:Anything"));
    }
}
