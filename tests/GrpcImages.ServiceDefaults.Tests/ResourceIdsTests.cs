using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.ServiceDefaults.Tests;

public class ResourceIdsTests
{
    [Fact]
    public void IdsAreAKindLetterAndTwentyLowercaseLettersOrDigits()
    {
        var id = ResourceIds.New('m', ResourceIds.OwnerTag("1234567890123456"));
        Assert.Matches("^m-[a-z0-9]{20}$", id);
        Assert.True(ResourceIds.IsValid(id, 'm'));
        Assert.False(ResourceIds.IsValid(id, 's'));
        Assert.False(ResourceIds.IsValid("m-ABCDEFGHIJKLMNOPQRST", 'm'));
        Assert.False(ResourceIds.IsValid("m-short", 'm'));
    }

    [Fact]
    public void AnIdCarriesItsOwnersSlotTag()
    {
        var tag = ResourceIds.OwnerTag("1234567890123456");
        Assert.Equal(tag, ResourceIds.OwnerTag("1234567890123456"));
        Assert.Equal(tag, ResourceIds.TagOf(ResourceIds.New('i', tag)));
        Assert.NotEqual(ResourceIds.New('i', tag), ResourceIds.New('i', tag));
    }

    [Fact]
    public void PageTokensRoundTripAndForgeriesAreRejected()
    {
        Assert.Equal("", PageToken.Encode(""));
        Assert.Equal("", PageToken.Decode(""));
        Assert.Equal("1700000000000:m-abc", PageToken.Decode(PageToken.Encode("1700000000000:m-abc")));
        var ex = Assert.Throws<DomainException>(() => PageToken.Decode("not-a-token!"));
        Assert.Equal("InvalidNextToken", ex.Reason);
        Assert.Throws<DomainException>(() => PageToken.Decode("aGVsbG8")); // base64 of "hello": not ours
    }
}
