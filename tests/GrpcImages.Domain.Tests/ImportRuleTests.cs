using System.Buffers.Binary;
using System.Net;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.Transfer.Domain;
using GrpcImages.Transfer.Formats;

namespace GrpcImages.Domain.Tests;

/// <summary>The import checks on bytes and addresses, without a cluster (R25, R26).</summary>
public class ImportRuleTests
{
    [Theory]
    [InlineData("8.8.8.8", true)]
    [InlineData("2001:4860:4860::8888", true)]
    [InlineData("127.0.0.1", false)]
    [InlineData("10.200.1.1", false)]
    [InlineData("172.16.0.1", false)]
    [InlineData("172.32.0.1", true)]
    [InlineData("192.168.1.1", false)]
    [InlineData("169.254.169.254", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("224.0.0.1", false)]
    [InlineData("255.255.255.255", false)]
    [InlineData("::1", false)]
    [InlineData("::", false)]
    [InlineData("fe80::1", false)]
    [InlineData("fd00::1", false)]
    [InlineData("ff02::1", false)]
    [InlineData("::ffff:127.0.0.1", false)]
    [InlineData("::ffff:8.8.8.8", true)]
    [InlineData("64:ff9b::a9fe:a9fe", false)] // NAT64 of 169.254.169.254
    [InlineData("2002:7f00:1::", false)] // 6to4 of 127.0.0.1
    public void R26_OnlyPublicAddressesArePublic(string address, bool isPublic) =>
        Assert.Equal(isPublic, ImportSources.IsPublic(IPAddress.Parse(address)));

    [Fact]
    public void R25_Qcow2WithABackingOrExternalDataFileIsRefused()
    {
        var head = Qcow2(version: 3);
        Assert.Equal(DiskImageFormat.Qcow2, DiskFormats.Detect(head, [], head.Length).Format);

        var backed = Qcow2(version: 2);
        BinaryPrimitives.WriteUInt64BigEndian(backed.AsSpan(8), 512); // backing_file_offset
        BinaryPrimitives.WriteUInt32BigEndian(backed.AsSpan(16), 11); // backing_file_size
        Assert.Equal("InvalidImageFormat.Malformed", Assert.Throws<DomainException>(() => DiskFormats.Detect(backed, [], backed.Length)).Reason);

        var external = Qcow2(version: 3);
        BinaryPrimitives.WriteUInt64BigEndian(external.AsSpan(72), 1 << 2); // incompatible feature: external data file
        Assert.Equal("InvalidImageFormat.Malformed", Assert.Throws<DomainException>(() => DiskFormats.Detect(external, [], external.Length)).Reason);
    }

    [Fact]
    public void R25_VhdIsFoundByItsFooterAndADifferencingDiskIsRefused()
    {
        var footer = new byte[DiskFormats.TailBytes];
        "conectix"u8.CopyTo(footer);
        BinaryPrimitives.WriteUInt64BigEndian(footer.AsSpan(48), 10 << 20);
        BinaryPrimitives.WriteUInt32BigEndian(footer.AsSpan(60), 2); // fixed
        Assert.Equal(new DetectedFormat(DiskImageFormat.Vhd, 10 << 20), DiskFormats.Detect(new byte[4096], footer, 10 << 20));

        BinaryPrimitives.WriteUInt32BigEndian(footer.AsSpan(60), 4); // differencing
        Assert.Throws<DomainException>(() => DiskFormats.Detect(new byte[4096], footer, 10 << 20));
    }

    [Fact]
    public void R25_IsoAndVhdxAreRefusedAndAnythingElseIsRaw()
    {
        var iso = new byte[DiskFormats.HeadBytes];
        "CD001"u8.CopyTo(iso.AsSpan(0x8001));
        Assert.Contains("ISO", Assert.Throws<DomainException>(() => DiskFormats.Detect(iso, [], iso.Length)).Message, StringComparison.Ordinal);
        Assert.Throws<DomainException>(() => DiskFormats.Detect("vhdxfile"u8.ToArray(), [], 8));
        Assert.Equal(new DetectedFormat(DiskImageFormat.Raw, 3000), DiskFormats.Detect(new byte[3000], new byte[512], 3000));
        Assert.Throws<DomainException>(() => DiskFormats.RequireDeclared(DiskImageFormat.Qcow2, new DetectedFormat(DiskImageFormat.Raw, 1)));
    }

    private static byte[] Qcow2(uint version)
    {
        var head = new byte[512];
        BinaryPrimitives.WriteUInt32BigEndian(head, 0x514649fb);
        BinaryPrimitives.WriteUInt32BigEndian(head.AsSpan(4), version);
        BinaryPrimitives.WriteUInt64BigEndian(head.AsSpan(24), 1 << 30);
        return head;
    }
}
