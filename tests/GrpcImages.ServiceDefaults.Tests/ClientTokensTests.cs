using GrpcImages.Contracts.Kms.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Storage;

namespace GrpcImages.ServiceDefaults.Tests;

/// <summary>R35 client tokens as a store reads them (ClientTokens.FindAsync) and Domain resolves them, against a real Redis.</summary>
public class ClientTokensTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private static string Key() => $"gi:test:ct:{Guid.NewGuid():N}";

    [Fact]
    public async Task R35_ATokenReadsBackAsTheIdItsFirstRequestMadeAndAnotherRequestWithItIsRefused()
    {
        var db = redis.Connection.GetDatabase();
        var key = Key();
        var first = ClientToken.Of(new CreateAccountRequest { DisplayName = "Acme", ClientToken = "t-1" }, "t-1");
        var other = ClientToken.Of(new CreateAccountRequest { DisplayName = "Other", ClientToken = "t-1" }, "t-1");

        Assert.Null(first.Resolve(await ClientTokens.FindAsync(db, first, key))); // new token
        await db.StringSetAsync(key, ClientTokens.Value(first.Fingerprint, "1234567890123456"));

        Assert.Equal("1234567890123456", first.Resolve(await ClientTokens.FindAsync(db, first, key)));
        var stored = await ClientTokens.FindAsync(db, other, key);
        var refused = Assert.Throws<DomainException>(() => other.Resolve(stored));
        Assert.Equal("IdempotenceParamNotMatch", refused.Reason);
    }

    [Fact]
    public async Task R35_ARequestWithoutATokenFindsNothing()
    {
        var db = redis.Connection.GetDatabase();
        var key = Key();
        await db.StringSetAsync(key, ClientTokens.Value("fingerprint", "1234567890123456"));

        Assert.Null(await ClientTokens.FindAsync(db, ClientToken.None, key));
        Assert.Null(ClientToken.None.Resolve(await ClientTokens.FindAsync(db, ClientToken.None, key)));
    }
}
