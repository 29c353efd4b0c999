using GrpcImages.Sharing.Storage;

namespace GrpcImages.Domain.Tests;

/// <summary>
/// The sharing service's stored entries checked without Redis: the owner's outbox of recipient-index
/// changes (R19) and the members of a recipient's index.
/// </summary>
public class SharingRuleTests
{
    private const string Owner = "1234567890123456";
    private const string Recipient = "6543210987654321";
    private const string ImageId = "m-abcd0123456789abcdef";

    [Fact]
    public void AReceivedMemberReadsBackAsWritten()
    {
        var member = new ReceivedMember(Owner, ImageId);

        Assert.Equal($"{Owner}|{ImageId}", member.Format());
        Assert.Equal(member, ReceivedMember.Parse(member.Format()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("1234567890123456")]
    [InlineData("1234567890123456|")]
    [InlineData("|m-abcd0123456789abcdef")]
    [InlineData("1234567890123456|m-abcd0123456789abcdef|extra")]
    public void AMalformedReceivedMemberIsRefused(string member) =>
        Assert.Throws<InvalidDataException>(() => ReceivedMember.Parse(member));

    [Fact]
    public void R19_AGrantAndARevokeInTheOutboxReadBackAsWrittenAndNameTheSameMember()
    {
        var grant = new OutboxEntry(true, Recipient, "cn-hangzhou", Owner, ImageId, 1_700_000_000_123);
        var revoke = grant with { Grant = false, AtMs = 1_700_000_000_456 };

        // The form ShareStore's scripts write: '+' or '-', recipient, region, owner, image, ms.
        Assert.Equal($"+|{Recipient}|cn-hangzhou|{Owner}|{ImageId}|1700000000123", grant.Format());
        Assert.Equal($"-|{Recipient}|cn-hangzhou|{Owner}|{ImageId}|1700000000456", revoke.Format());
        Assert.Equal(grant, OutboxEntry.Parse(grant.Format()));
        Assert.Equal(revoke, OutboxEntry.Parse(revoke.Format()));
        Assert.Equal(new ReceivedMember(Owner, ImageId), OutboxEntry.Parse(revoke.Format()).Member);
    }

    [Theory]
    [InlineData("")]
    [InlineData("*|6543210987654321|cn-hangzhou|1234567890123456|m-abcd0123456789abcdef|1700000000123")]
    [InlineData("+|6543210987654321|cn-hangzhou|1234567890123456|m-abcd0123456789abcdef")]
    [InlineData("+|6543210987654321|cn-hangzhou|1234567890123456|m-abcd0123456789abcdef|soon")]
    [InlineData("+|6543210987654321||1234567890123456|m-abcd0123456789abcdef|1700000000123")]
    [InlineData("+|6543210987654321|cn-hangzhou|1234567890123456|m-abcd0123456789abcdef|1700000000123|extra")]
    public void AMalformedOutboxEntryIsRefused(string entry) =>
        Assert.Throws<InvalidDataException>(() => OutboxEntry.Parse(entry));

    [Fact]
    public void AnEntryIsNotWrittenWithAFieldItCannotReadBack()
    {
        Assert.Throws<ArgumentException>(() => new ReceivedMember("12|34", ImageId).Format());
        Assert.Throws<ArgumentException>(() => new OutboxEntry(true, Recipient, "", Owner, ImageId, 1).Format());
    }

    [Fact]
    public void R37_AMemberStandsForItsDirectoryEachFolderOnItsPathAndItself()
    {
        var member = new GrpcImages.Contracts.Kms.V1.Membership
        {
            AccountId = Recipient, DirectoryId = "rd-abcdefghij", FolderId = "fd-0123456789", Path = "rd-abcdefghij/r-abc123/fd-0123456789",
        };

        var principals = GrpcImages.Sharing.Domain.Organizations.PrincipalsOf(member).Select(p => p.Format()).ToList();

        Assert.Equal(["rd-abcdefghij", "rd-abcdefghij/r-abc123", "rd-abcdefghij/fd-0123456789", $"rd-abcdefghij/{Recipient}"], principals);
        Assert.Empty(GrpcImages.Sharing.Domain.Organizations.PrincipalsOf(new GrpcImages.Contracts.Kms.V1.Membership { AccountId = Recipient }));
    }

    [Theory]
    [InlineData("rd-abcdefghij")]
    [InlineData("rd-abcdefghij/r-abc123")]
    [InlineData("rd-abcdefghij/fd-0123456789")]
    [InlineData("rd-abcdefghij/1234567890123456")]
    public void R37_AnOrganizationPrincipalReadsBackAsWritten(string principal)
    {
        Assert.Equal(principal, OrganizationPrincipal.Parse(principal).Format());
        Assert.True(OrganizationPrincipal.IsPrincipal(principal));
    }

    [Theory]
    [InlineData("rd-abcdefghij/fd-x")]
    [InlineData("rd-ABC/r-abc123")]
    [InlineData("1234567890123456")]
    [InlineData("rd-abcdefghij/m-abcd0123456789abcdef")]
    public void R37_AMalformedOrganizationPrincipalIsRefused(string principal) =>
        Assert.Throws<InvalidDataException>(() => OrganizationPrincipal.Parse(principal));

    [Fact]
    public void R37_RemovingATargetNamesTheStoredPrincipalEndingWithIt()
    {
        Assert.True(OrganizationPrincipal.Names("rd-abcdefghij/fd-0123456789", "fd-0123456789"));
        Assert.True(OrganizationPrincipal.Names("rd-abcdefghij", "rd-abcdefghij"));
        Assert.False(OrganizationPrincipal.Names("rd-abcdefghij/fd-0123456789", "0123456789"));
    }
}
