using System.Text;
using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Common.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Contracts.Transfer.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>Encrypted disks and images, for real (R20, R22, R23).</summary>
public class EncryptionTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    // Where an instance's first boot writes its identity on its system disk.
    private const long InstanceManagerIdentityOffset = 1L << 20;

    private ContentService.ContentServiceClient Content => Cluster.Client<ContentService.ContentServiceClient>(Cluster.ServiceToken());

    private Task<IReadOnlyList<DiskContent>> DisksOf(string imageId) => Cluster.DisksOfAsync(Hangzhou, imageId);

    private Task<byte[]> ReadAsync(string manifestId, long offset, int length) => Cluster.ReadContentAsync(Hangzhou, manifestId, offset, length);

    private static EncryptionSpec With(Key key) => new() { Encrypted = true, KmsKeyId = key.KeyId };

    [Fact]
    public async Task R23_AnEncryptedImagesBytesAreSealedOnDiskAndOpenOnlyThroughItsKey()
    {
        var account = await Cluster.NewAccountAsync();
        var key = await account.NewCmkAsync();
        var instance = (await account.Instances().CreateInstanceAsync(new CreateInstanceRequest
        {
            RegionId = Hangzhou, ImageId = Ubuntu, SystemDiskEncryption = With(key),
        })).Instance;
        Assert.Equal((true, key.KeyId, account.AccountId), (instance.SystemDisk.Encryption.Encrypted, instance.SystemDisk.Encryption.KmsKeyId, instance.SystemDisk.Encryption.KmsKeyOwnerAccountId));

        var image = await account.NewImageAsync(instance.InstanceId);
        Assert.Equal((true, key.KeyId), (image.Encryption.Encrypted, image.Encryption.KmsKeyId)); // R20: the image of an encrypted disk is encrypted with its key
        var disk = (await DisksOf(image.ImageId))[0];
        var info = (await Content.GetContentInfoAsync(new GetContentInfoRequest { RegionId = Hangzhou, ManifestId = disk.ManifestId })).Content;
        Assert.Equal(key.KeyId, info.Encryption.KmsKeyId);

        // Through the content layer the bytes are the image's and the instance's.
        var header = Encoding.ASCII.GetBytes($"GRPCIMAGES SEED DISK\nlabel: {Ubuntu}");
        var identity = Encoding.ASCII.GetBytes($"GRPCIMAGES INSTANCE\ninstance-id: {instance.InstanceId}");
        var plaintextHead = await ReadAsync(disk.ManifestId, 0, 4096);
        Assert.Equal(header, plaintextHead[..header.Length]);
        Assert.Equal(identity, (await ReadAsync(disk.ManifestId, InstanceManagerIdentityOffset, identity.Length)));
        var publicDisk = (await DisksOf(Ubuntu))[0];
        var knownData = await ReadAsync(publicDisk.ManifestId, 8192, 64); // pseudo-random seed bytes of the public image

        // On disk, none of it is there in plaintext.
        Assert.NotEmpty((await Cluster.ChunkIdsAsync(Hangzhou, info)));
        foreach (var chunk in (await Cluster.ChunkIdsAsync(Hangzhou, info)))
        {
            var stored = await File.ReadAllBytesAsync(Cluster.BlobPath(Hangzhou, chunk));
            Assert.Equal(-1, stored.AsSpan().IndexOf(header));
            Assert.Equal(-1, stored.AsSpan().IndexOf(identity));
            Assert.Equal(-1, stored.AsSpan().IndexOf(knownData));
            Assert.Equal(-1, stored.AsSpan().IndexOf(Encoding.ASCII.GetBytes("GRPCIMAGES")));
        }
        // The public image's own chunks are plaintext: the check above looks at the right place.
        var plainChunk = await File.ReadAllBytesAsync(Cluster.BlobPath(Hangzhou, (await Cluster.ChunkIdsAsync(Hangzhou, (await Content.GetContentInfoAsync(new GetContentInfoRequest { RegionId = Hangzhou, ManifestId = publicDisk.ManifestId })).Content))[0]));
        Assert.NotEqual(-1, plainChunk.AsSpan().IndexOf(knownData));
    }

    [Fact]
    public async Task R20_AnImageOfAPlainInstanceCanBeEncryptedWhenItIsMade()
    {
        var account = await Cluster.NewAccountAsync();
        var key = await account.NewCmkAsync();
        var instance = await account.NewInstanceAsync(Ubuntu, Hangzhou, 0, 20);

        var created = (await account.Images().CreateImageAsync(new CreateImageRequest
        {
            RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = UniqueName(), Encryption = With(key),
        })).Image;
        var image = await account.WaitUntilAvailableAsync(created.ImageId);

        Assert.Equal((true, key.KeyId), (image.Encryption.Encrypted, image.Encryption.KmsKeyId));
        var disks = await DisksOf(image.ImageId);
        Assert.All(disks, d => Assert.Equal(key.KeyId, d.Encryption.KmsKeyId));
        var system = (await Content.GetContentInfoAsync(new GetContentInfoRequest { RegionId = Hangzhou, ManifestId = disks[0].ManifestId })).Content;
        Assert.All((await Cluster.ChunkIdsAsync(Hangzhou, system)), chunk => Assert.Equal(-1, File.ReadAllBytes(Cluster.BlobPath(Hangzhou, chunk)).AsSpan().IndexOf("GRPCIMAGES"u8)));
        // The instance's own disk stays as it was.
        Assert.False((await account.Instances().GetInstanceAsync(new GetInstanceRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId })).Instance.SystemDisk.Encryption.Encrypted);
    }

    [Fact]
    public async Task R20_TheDefaultServiceKeyEncryptsWithoutARole()
    {
        var account = await Cluster.NewAccountAsync();
        await account.EnableKmsAsync();

        var instance = (await account.Instances().CreateInstanceAsync(new CreateInstanceRequest
        {
            RegionId = Hangzhou, ImageId = Ubuntu, SystemDiskEncryption = new EncryptionSpec { Encrypted = true },
            DataDisks = { new DataDiskSpec { SizeGib = 20, Encryption = new EncryptionSpec { Encrypted = true } } },
        })).Instance;

        Assert.True(instance.SystemDisk.Encryption.ServiceKey);
        Assert.True(instance.DataDisks[0].Encryption.Encrypted);
        var defaultKey = (await account.Keys().GetKeyAsync(new GetKeyRequest { RegionId = Hangzhou, KeyId = "alias/acs/ecs" })).Key;
        Assert.Equal(defaultKey.KeyId, instance.SystemDisk.Encryption.KmsKeyId);
    }

    [Fact]
    public async Task R23_ADisabledOrPendingKeyBlocksNewInstancesAndImagesFromItsImages()
    {
        var account = await Cluster.NewAccountAsync();
        var key = await account.NewCmkAsync();
        var instance = (await account.Instances().CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = Ubuntu, SystemDiskEncryption = With(key) })).Instance;
        var image = await account.NewImageAsync(instance.InstanceId);

        await account.Keys().DisableKeyAsync(new DisableKeyRequest { RegionId = Hangzhou, KeyId = key.KeyId });

        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "InvalidParameter.KMSKeyId.CMKNotEnabled", () =>
            account.Instances().CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = image.ImageId }));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "InvalidParameter.KMSKeyId.CMKNotEnabled", () =>
            account.Instances().CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = Ubuntu, SystemDiskEncryption = With(key) }));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "InvalidParameter.KMSKeyId.CMKNotEnabled", () =>
            account.Images().CreateImageAsync(new CreateImageRequest { RegionId = Hangzhou, InstanceId = instance.InstanceId, ImageName = UniqueName() }));
        Assert.Single((await account.Instances().ListInstancesAsync(new ListInstancesRequest { RegionId = Hangzhou })).Instances); // nothing half-made

        await account.Keys().ScheduleKeyDeletionAsync(new ScheduleKeyDeletionRequest { RegionId = Hangzhou, KeyId = key.KeyId, PendingWindowDays = 7 });
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "InvalidParameter.KMSKeyId.CMKNotEnabled", () =>
            account.Instances().CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = image.ImageId }));

        await account.Keys().CancelKeyDeletionAsync(new CancelKeyDeletionRequest { RegionId = Hangzhou, KeyId = key.KeyId });
        await account.Keys().EnableKeyAsync(new EnableKeyRequest { RegionId = Hangzhou, KeyId = key.KeyId });
        var again = await account.NewInstanceAsync(image.ImageId);
        Assert.Equal(key.KeyId, again.SystemDisk.Encryption.KmsKeyId);
    }

    [Fact]
    public async Task R22_SharingAnEncryptedImageNeedsTheRoleAndTheRecipientUsesItWhileTheRoleStands()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var key = await a.NewCmkAsync();
        var source = (await a.Instances().CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = Ubuntu, SystemDiskEncryption = With(key) })).Instance;
        var image = await a.NewImageAsync(source.InstanceId);

        var refused = await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "AssumeRoleError", () => a.ShareAsync(image.ImageId, b.AccountId));
        Assert.Equal("Requires a RAM role of AliyunECSShareEncryptImageDefaultRole before sharing encrypted image.", refused.Status.Detail);
        Assert.Empty(await b.OthersAsync());

        await a.AddRoleAsync(KmsSteps.ShareEncryptRole);
        await a.ShareAsync(image.ImageId, b.AccountId);

        var theirs = await b.NewInstanceAsync(image.ImageId);
        Assert.Equal((true, key.KeyId, a.AccountId), (theirs.SystemDisk.Encryption.Encrypted, theirs.SystemDisk.Encryption.KmsKeyId, theirs.SystemDisk.Encryption.KmsKeyOwnerAccountId));

        // An image of B's own from that instance cannot keep A's key (R21): B encrypts it with its own.
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "OperationDeined.EncryptedSnapshot", () =>
            b.Images().CreateImageAsync(new CreateImageRequest { RegionId = Hangzhou, InstanceId = theirs.InstanceId, ImageName = UniqueName() }));
        var bKey = await b.NewCmkAsync();
        var reSealed = (await b.Images().CreateImageAsync(new CreateImageRequest
        {
            RegionId = Hangzhou, InstanceId = theirs.InstanceId, ImageName = UniqueName(), Encryption = With(bKey),
        })).Image;
        Assert.Equal(bKey.KeyId, (await b.WaitUntilAvailableAsync(reSealed.ImageId)).Encryption.KmsKeyId);

        // Once A withdraws the role, B makes no new instances from A's encrypted image.
        await a.Roles().DeleteServiceRoleAsync(new DeleteServiceRoleRequest { RoleName = KmsSteps.ShareEncryptRole });
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "AssumeRoleError", () =>
            b.Instances().CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = image.ImageId }));
    }

    [Fact]
    public async Task R22_AnImageEncryptedWithTheDefaultServiceKeyCannotBeShared()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        await a.EnableKmsAsync();
        await a.AddRoleAsync(KmsSteps.ShareEncryptRole);
        var source = (await a.Instances().CreateInstanceAsync(new CreateInstanceRequest
        {
            RegionId = Hangzhou, ImageId = Ubuntu, SystemDiskEncryption = new EncryptionSpec { Encrypted = true },
        })).Instance;
        var image = await a.NewImageAsync(source.InstanceId);

        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "InvalidOperation.ServiceKeyEncryptedImageUnsupported", () => a.ShareAsync(image.ImageId, b.AccountId));
    }

    [Fact]
    public async Task R21_EncryptionRequestsWithoutKmsOrWithAnotherAccountsKeyAreRefused()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        var key = await a.NewCmkAsync();

        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, "InvalidParameter.KmsNotEnabled", () =>
            b.Instances().CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = Ubuntu, SystemDiskEncryption = new EncryptionSpec { Encrypted = true } }));
        await b.EnableKmsAsync();
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidParameter.KMSKeyId.NotFound", () =>
            b.Instances().CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = Ubuntu, SystemDiskEncryption = With(key) }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidParameter.EncryptedIllegal", () =>
            b.Instances().CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = Ubuntu, SystemDiskEncryption = new EncryptionSpec { KmsKeyId = key.KeyId } }));
        Assert.Empty((await b.Instances().ListInstancesAsync(new ListInstancesRequest { RegionId = Hangzhou })).Instances);
    }
}
