using GrpcImages.Kms.Domain;

namespace GrpcImages.Domain.Tests;

/// <summary>kms's formats checked without Redis: the items of its key-deletions queue.</summary>
public class KmsRuleTests
{
    [Fact]
    public void AKeyDeletionItemReadsBackAsWritten()
    {
        var item = new KeyDeletionItem("1234567890123456", "0f8fad5b-d9cb-469f-a165-70867728950e");

        Assert.Equal("1234567890123456|0f8fad5b-d9cb-469f-a165-70867728950e", item.Format());
        Assert.Equal(item, KeyDeletionItem.Parse(item.Format()));
    }

    [Fact]
    public void AKeyDeletionItemKeepsWhateverKeyIdTheRequestNamed()
    {
        // Queued before the key id is checked: an id that names no key must still read back, so its item ends as "nothing to delete".
        foreach (var keyId in new[] { "", "a|b", "alias/acs/ecs" })
        {
            var item = new KeyDeletionItem("1234567890123456", keyId);
            Assert.Equal(item, KeyDeletionItem.Parse(item.Format()));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("1234567890123456")]
    [InlineData("|0f8fad5b-d9cb-469f-a165-70867728950e")]
    public void AMalformedKeyDeletionItemIsRefused(string item) =>
        Assert.Throws<InvalidDataException>(() => KeyDeletionItem.Parse(item));

    [Fact]
    public void AKeyDeletionItemIsNotWrittenForAnAccountItCannotReadBack() =>
        Assert.Throws<ArgumentException>(() => new KeyDeletionItem("12|34", "key").Format());
}
