using Google.Protobuf.Collections;
using Grpc.Core;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.ServiceDefaults.Tests;

public class CheckTests
{
    [Theory]
    [InlineData("ubuntu-22.04_custom:v1")]
    [InlineData("Ab")]
    public void NamesThatFollowTheRulesAreAccepted(string name) => Assert.True(Check.IsName(name));

    [Theory]
    [InlineData("")]
    [InlineData("a")] // too short
    [InlineData("1image")] // must start with a letter
    [InlineData("aliyun-image")] // reserved prefix
    [InlineData("acs:image")] // reserved prefix
    [InlineData("my-http://image")] // no URLs
    [InlineData("my-https://image")]
    [InlineData("image name")] // no spaces
    [InlineData("image/name")]
    public void NamesThatBreakTheRulesAreMalformed(string name)
    {
        Assert.False(Check.IsName(name));
        var ex = Assert.Throws<DomainException>(() => Check.Name(name, "image_name", "InvalidImageName.Malformed"));
        Assert.Equal(StatusCode.InvalidArgument, ex.Code);
        Assert.Equal("InvalidImageName.Malformed", ex.Reason);
        Assert.Equal("image_name", Assert.Single(ex.Violations).Field);
    }

    [Fact]
    public void NamesAreAtMostOneHundredTwentyEightCharacters()
    {
        Assert.True(Check.IsName("a" + new string('1', 127)));
        Assert.False(Check.IsName("a" + new string('1', 128)));
    }

    [Theory]
    [InlineData("x")]
    [InlineData("http://example.com is my image")]
    [InlineData("https://example.com")]
    public void DescriptionsThatBreakTheRulesAreMalformed(string description)
    {
        var ex = Assert.Throws<DomainException>(() => Check.Description(description, "description"));
        Assert.Equal("InvalidDescription.Malformed", ex.Reason);
    }

    [Fact]
    public void AnEmptyOrOrdinaryDescriptionIsAccepted()
    {
        Assert.Equal("", Check.Description("", "description"));
        Assert.Equal("A web server image", Check.Description("A web server image", "description"));
        Assert.Throws<DomainException>(() => Check.Description(new string('d', 257), "description"));
    }

    [Fact]
    public void AtMostTwentyTagsWithDistinctKeys()
    {
        var tags = new RepeatedField<Tag>();
        tags.AddRange(Enumerable.Range(0, 20).Select(i => new Tag { Key = $"k{i}", Value = "v" }));
        Check.Tags(tags);
        tags.Add(new Tag { Key = "k20" });
        Assert.Equal("InvalidTagCount", Assert.Throws<DomainException>(() => Check.Tags(tags)).Reason);

        var duplicated = new RepeatedField<Tag> { new Tag { Key = "env" }, new Tag { Key = "env" } };
        Assert.Equal("InvalidTagKey.Duplicated", Assert.Throws<DomainException>(() => Check.Tags(duplicated)).Reason);
        var reserved = new RepeatedField<Tag> { new Tag { Key = "acs:owner" } };
        Assert.Equal("tags[0].key", Assert.Single(Assert.Throws<DomainException>(() => Check.Tags(reserved)).Violations).Field);
    }

    [Fact]
    public void ClientTokensAreAtMostSixtyFourAsciiCharacters() // R35
    {
        Assert.Equal(new string('t', 64), Check.ClientToken(new string('t', 64)));
        Assert.Equal("InvalidClientToken.Malformed", Assert.Throws<DomainException>(() => Check.ClientToken(new string('t', 65))).Reason);
        Assert.Throws<DomainException>(() => Check.ClientToken("jeton-é"));
    }

    [Theory]
    [InlineData(0, 10)]
    [InlineData(1, 1)]
    [InlineData(100, 100)]
    [InlineData(101, 100)]
    [InlineData(int.MaxValue, 100)]
    public void PageSizesDefaultToTenAndAreCutToOneHundred(int requested, int expected) =>
        Assert.Equal(expected, Check.PageSize(requested));

    [Fact]
    public void ANegativePageSizeIsInvalid()
    {
        var ex = Assert.Throws<DomainException>(() => Check.PageSize(-1));
        Assert.Equal(StatusCode.InvalidArgument, ex.Code);
        Assert.Equal("page_size", Assert.Single(ex.Violations).Field);
    }

    [Theory]
    [InlineData("1234567890123456", true)]
    [InlineData("123456789012345", false)]
    [InlineData("12345678901234567", false)]
    [InlineData("12345678901234a6", false)]
    public void AccountIdsAreSixteenDigits(string id, bool valid) => Assert.Equal(valid, Check.IsAccountId(id));
}
