using GrpcImages.Catalog.Domain;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Validation;
using Microsoft.Extensions.Time.Testing;

namespace GrpcImages.Domain.Tests;

/// <summary>Catalog rules checked without Redis or gRPC.</summary>
public class CatalogRuleTests
{
    private const long GiB = 1L << 30;

    [Fact]
    public void R1_LargerDisksTakeLongerAndProgressNeverStallsOrGoesBack()
    {
        var time = new FakeTimeProvider();
        var pace = new SnapshotPace(GiB, time);
        var seen = new List<int>();
        for (var second = 0; second <= 10; second++)
        {
            seen.Add(pace.Progress(seen.LastOrDefault(), 10 * GiB));
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(0, seen[0]);
        Assert.Equal(50, seen[5]);
        Assert.Equal(100, seen[10]);
        Assert.Equal(seen.Order(), seen);
        Assert.All(seen[..10], p => Assert.InRange(p, 0, 99)); // 100 only when done
    }

    [Fact]
    public void R1_ARunThatTakesOverResumesFromTheRecordedProgress()
    {
        var time = new FakeTimeProvider();
        var pace = new SnapshotPace(GiB, time);

        Assert.Equal(40, pace.Progress(40, 10 * GiB));
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(70, pace.Progress(40, 10 * GiB));
        Assert.Equal(100, new SnapshotPace(GiB, time).Progress(0, 0));
    }

    [Fact]
    public void R12_MarketplaceImagesAreOfferedWhereListedAndPublicImagesEverywhere()
    {
        var sqlServer = PlatformCatalog.ByProductCode("cmjj00012019")!;
        var ubuntu = PlatformCatalog.Images.First(i => !i.IsMarketplace);

        Assert.True(sqlServer.IsIn("cn-hangzhou"));
        Assert.False(sqlServer.IsIn("us-west-1"));
        Assert.True(ubuntu.IsIn("us-west-1"));
        Assert.Null(PlatformCatalog.ByProductCode("no-such-product"));
    }

    [Fact]
    public void PlatformIdsAreStablePerRegionAndValid()
    {
        var rhel = PlatformCatalog.ByProductCode("cmjj00029400")!;

        Assert.Equal(rhel.ImageId("cn-hangzhou"), rhel.ImageId("cn-hangzhou"));
        Assert.NotEqual(rhel.ImageId("cn-hangzhou"), rhel.ImageId("cn-beijing"));
        Assert.True(ResourceIds.IsValid(rhel.ImageId("cn-hangzhou"), 'm'));
        Assert.True(ResourceIds.IsValid(rhel.SnapshotId("cn-hangzhou"), 's'));
        Assert.Equal(PlatformCatalog.Images.Count, PlatformCatalog.Images.Select(i => i.Name).Distinct().Count());
    }

    [Fact]
    public void DevicesAreNamedByPosition()
    {
        Assert.Equal("/dev/xvda", Devices.Name(0));
        Assert.Equal("/dev/xvdb", Devices.Name(1));
        Assert.Equal("/dev/xvdq", Devices.Name(16));
    }

    [Fact]
    public void R20_AKeyWithoutEncryptedIsIllegalAndSealingsCompareByKey()
    {
        var ex = Assert.Throws<DomainException>(() => EncryptionPolicy.CheckShape(new EncryptionSpec { KmsKeyId = "k" }, "encryption"));
        Assert.Equal("InvalidParameter.EncryptedIllegal", ex.Reason);
        Assert.Equal("encryption.kms_key_id", ex.Violations.Single().Field);
        EncryptionPolicy.CheckShape(new EncryptionSpec { Encrypted = true, KmsKeyId = "k" }, "encryption");
        EncryptionPolicy.CheckShape(null, "encryption");

        var plain = new EncryptionInfo();
        var keyA = new EncryptionInfo { Encrypted = true, KmsKeyId = "a" };
        Assert.True(EncryptionPolicy.SameSealing(plain, null));
        Assert.True(EncryptionPolicy.SameSealing(keyA, keyA.Clone()));
        Assert.False(EncryptionPolicy.SameSealing(plain, keyA));
        Assert.False(EncryptionPolicy.SameSealing(keyA, new EncryptionInfo { Encrypted = true, KmsKeyId = "b" }));
        Assert.Null(EncryptionPolicy.ForContent(plain));
    }
}
