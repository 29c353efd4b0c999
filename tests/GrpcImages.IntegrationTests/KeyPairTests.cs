using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Testing;
using static GrpcImages.IntegrationTests.CatalogSteps;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// Key pairs (issue 21): a created pair's private key is a real RSA key whose public half and fingerprint are the ones
/// listed; imported OpenSSH keys are read strictly; pairs attach to Linux instances only and are not deleted while attached.
/// </summary>
public class KeyPairTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTest(fixture, output)
{
    [Fact]
    public async Task ACreatedPairsPrivateKeyIsARealRsaKeyMatchingTheListedPublicKeyAndFingerprint()
    {
        var account = await Cluster.NewAccountAsync();

        var created = await account.KeyPairs().CreateKeyPairAsync(new CreateKeyPairRequest { RegionId = Hangzhou, KeyPairName = "packer_6720d3c2" });

        Assert.StartsWith("-----BEGIN RSA PRIVATE KEY-----", created.PrivateKeyBody);
        using var rsa = RSA.Create();
        rsa.ImportFromPem(created.PrivateKeyBody);
        Assert.Equal(2048, rsa.KeySize);
        var blob = RsaBlob(rsa.ExportParameters(false));
        Assert.Equal($"ssh-rsa {Convert.ToBase64String(blob)}", created.KeyPair.PublicKey);
        Assert.Equal(Md5Fingerprint(blob), created.KeyPair.KeyPairFingerPrint);

        // What a user does with it: ssh-keygen derives the same public key from the private key it saved.
        if (SshKeygen() is { } keygen && !OperatingSystem.IsWindows())
        {
            var file = Path.Combine(Cluster.DataDirectory, $"key-{Guid.NewGuid():N}");
            await File.WriteAllTextAsync(file, created.PrivateKeyBody);
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            Assert.Equal(created.KeyPair.PublicKey, Run(keygen, "-y", "-f", file).Trim());
        }

        var listed = (await account.KeyPairs().ListKeyPairsAsync(new ListKeyPairsRequest { RegionId = Hangzhou })).KeyPairs.Single();
        Assert.Equal(("packer_6720d3c2", created.KeyPair.KeyPairFingerPrint, created.KeyPair.PublicKey, account.AccountId),
            (listed.KeyPairName, listed.KeyPairFingerPrint, listed.PublicKey, listed.OwnerAccountId));
        Assert.Empty(listed.InstanceIds);
        Assert.DoesNotContain("PRIVATE", listed.ToString()); // the private key is not kept
    }

    [Fact]
    public async Task RealOpenSshPublicKeysImportWithTheirFingerprints()
    {
        var account = await Cluster.NewAccountAsync();
        using var rsa = RSA.Create(3072);
        var rsaBlob = RsaBlob(rsa.ExportParameters(false));
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var point = ecdsa.ExportParameters(false).Q;
        var ecdsaBlob = Blob("ecdsa-sha2-nistp256"u8.ToArray(), "nistp256"u8.ToArray(), [4, .. point.X!, .. point.Y!]);
        var keys = new List<(string Name, string Line, string Fingerprint)>
        {
            ("rsa-3072", $"ssh-rsa {Convert.ToBase64String(rsaBlob)} alice@laptop", Md5Fingerprint(rsaBlob)),
            ("ecdsa-p256", $"ecdsa-sha2-nistp256 {Convert.ToBase64String(ecdsaBlob)}", Md5Fingerprint(ecdsaBlob)),
        };
        if (SshKeygen() is { } keygen)
        {
            // One made by OpenSSH itself, fingerprinted by OpenSSH.
            var file = Path.Combine(Cluster.DataDirectory, $"ed-{Guid.NewGuid():N}");
            Run(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "bob@ci", "-f", file);
            var md5 = Run(keygen, "-l", "-E", "md5", "-f", file + ".pub").Split(' ')[1]["MD5:".Length..];
            keys.Add(("ed25519", (await File.ReadAllTextAsync(file + ".pub")).Trim(), md5));
        }

        foreach (var (name, line, fingerprint) in keys)
        {
            var imported = (await account.KeyPairs().ImportKeyPairAsync(new ImportKeyPairRequest { RegionId = Hangzhou, KeyPairName = name, PublicKeyBody = line })).KeyPair;
            Assert.Equal(fingerprint, imported.KeyPairFingerPrint);
            Assert.Equal(string.Join(' ', line.Split(' ').Take(2)), imported.PublicKey); // the comment is not kept
        }

        var byFingerprint = await account.KeyPairs().ListKeyPairsAsync(new ListKeyPairsRequest { RegionId = Hangzhou, KeyPairFingerPrint = keys[1].Fingerprint });
        Assert.Equal(["ecdsa-p256"], byFingerprint.KeyPairs.Select(p => p.KeyPairName));
        var byPrefix = await account.KeyPairs().ListKeyPairsAsync(new ListKeyPairsRequest { RegionId = Hangzhou, KeyPairNames = { "rsa*", "ecdsa-p256" } });
        Assert.Equal(["ecdsa-p256", "rsa-3072"], byPrefix.KeyPairs.Select(p => p.KeyPairName)); // newest first
        Assert.Equal(2, byPrefix.TotalSize);
    }

    [Fact]
    public async Task GarbageIsNotAPublicKeyAndNothingIsImported()
    {
        var account = await Cluster.NewAccountAsync();
        using var rsa = RSA.Create(2048);
        var good = Convert.ToBase64String(RsaBlob(rsa.ExportParameters(false)));
        using var small = RSA.Create(512);
        var bad = new[]
        {
            "",
            "not a key",
            "ssh-rsa",
            "ssh-rsa !!!notbase64!!!",
            $"ssh-ed25519 {good}", // the blob says ssh-rsa
            $"ssh-dss {Convert.ToBase64String(Blob("ssh-dss"u8.ToArray(), [1], [2], [3], [4]))}",
            $"ssh-rsa {Convert.ToBase64String(RsaBlob(small.ExportParameters(false)))}", // too short a modulus
            $"ssh-rsa {Convert.ToBase64String([.. RsaBlob(rsa.ExportParameters(false)), 0, 0, 0, 0])}", // trailing bytes
            $"ssh-rsa {good} {new string('c', 5000)}", // over 4096 characters
            "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
        };

        foreach (var body in bad)
        {
            var ex = await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidPublicKeyBody.Malformed", () =>
                account.KeyPairs().ImportKeyPairAsync(new ImportKeyPairRequest { RegionId = Hangzhou, KeyPairName = "imported", PublicKeyBody = body }));
            Assert.Equal(["public_key_body"], RpcAssert.ViolatedFields(ex));
        }
        Assert.Empty((await account.KeyPairs().ListKeyPairsAsync(new ListKeyPairsRequest { RegionId = Hangzhou })).KeyPairs);
    }

    [Fact]
    public async Task NamesAreUniquePerAccountAndRegionAndCheckedAsEcsDoes()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        await a.KeyPairs().CreateKeyPairAsync(new CreateKeyPairRequest { RegionId = Hangzhou, KeyPairName = "deploy" });

        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, "KeyPair.AlreadyExist", () =>
            a.KeyPairs().CreateKeyPairAsync(new CreateKeyPairRequest { RegionId = Hangzhou, KeyPairName = "deploy" }));
        using var rsa = RSA.Create(2048);
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, "KeyPair.AlreadyExist", () => a.KeyPairs().ImportKeyPairAsync(new ImportKeyPairRequest
        {
            RegionId = Hangzhou, KeyPairName = "deploy", PublicKeyBody = $"ssh-rsa {Convert.ToBase64String(RsaBlob(rsa.ExportParameters(false)))}",
        }));
        // Another account, or another region, has a name space of its own.
        await b.KeyPairs().CreateKeyPairAsync(new CreateKeyPairRequest { RegionId = Hangzhou, KeyPairName = "deploy" });
        await a.KeyPairs().CreateKeyPairAsync(new CreateKeyPairRequest { RegionId = Shanghai, KeyPairName = "deploy" });

        foreach (var name in new[] { "", "x", "1deploy", "-deploy", "has space", "sl/ash", new string('k', 129) })
        {
            await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidKeyPairName.Malformed", () =>
                a.KeyPairs().CreateKeyPairAsync(new CreateKeyPairRequest { RegionId = Hangzhou, KeyPairName = name }));
        }
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidRegionId.Malformed", () =>
            a.KeyPairs().CreateKeyPairAsync(new CreateKeyPairRequest { RegionId = "mars-1", KeyPairName = "ok-name" }));
        Assert.Single((await a.KeyPairs().ListKeyPairsAsync(new ListKeyPairsRequest { RegionId = Hangzhou })).KeyPairs);
    }

    [Fact]
    public async Task APairAttachesToLinuxInstancesOnlyAndIsNotDeletedWhileAttached()
    {
        var account = await Cluster.NewAccountAsync();
        await account.KeyPairs().CreateKeyPairAsync(new CreateKeyPairRequest { RegionId = Hangzhou, KeyPairName = "ops" });
        await account.KeyPairs().CreateKeyPairAsync(new CreateKeyPairRequest { RegionId = Hangzhou, KeyPairName = "other" });
        var first = await account.NewInstanceAsync();
        var second = await account.NewInstanceAsync();
        var windows = await account.NewInstanceAsync(WindowsServer);

        var attached = (await account.KeyPairs().AttachKeyPairAsync(new AttachKeyPairRequest
        {
            RegionId = Hangzhou, KeyPairName = "ops", InstanceIds = { first.InstanceId, second.InstanceId },
        })).KeyPair;
        Assert.Equal(new[] { first.InstanceId, second.InstanceId }.Order(StringComparer.Ordinal), attached.InstanceIds);
        Assert.Equal("ops", (await account.GetInstanceAsync(first.InstanceId)).KeyPairName);

        // All or none: a Windows instance among them changes none.
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "DependencyViolation.WindowsInstance", () => account.KeyPairs().AttachKeyPairAsync(
            new AttachKeyPairRequest { RegionId = Hangzhou, KeyPairName = "other", InstanceIds = { first.InstanceId, windows.InstanceId } }));
        Assert.Equal("ops", (await account.GetInstanceAsync(first.InstanceId)).KeyPairName);
        Assert.Equal("", (await account.GetInstanceAsync(windows.InstanceId)).KeyPairName);

        var delete = new DeleteKeyPairsRequest { RegionId = Hangzhou, KeyPairNames = { "other", "ops" } };
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, "InvalidParameter.KeypairAlreadyAttachedInstance", () => account.KeyPairs().DeleteKeyPairsAsync(delete));
        Assert.Equal(2, (await account.KeyPairs().ListKeyPairsAsync(new ListKeyPairsRequest { RegionId = Hangzhou })).TotalSize); // none went

        // Attaching another pair replaces the one an instance had.
        await account.KeyPairs().AttachKeyPairAsync(new AttachKeyPairRequest { RegionId = Hangzhou, KeyPairName = "other", InstanceIds = { second.InstanceId } });
        var ops = (await account.KeyPairs().ListKeyPairsAsync(new ListKeyPairsRequest { RegionId = Hangzhou, KeyPairNames = { "ops" } })).KeyPairs.Single();
        Assert.Equal([first.InstanceId], ops.InstanceIds);

        var detached = await account.KeyPairs().DetachKeyPairAsync(new DetachKeyPairRequest
        {
            RegionId = Hangzhou, KeyPairName = "ops", InstanceIds = { first.InstanceId, second.InstanceId },
        });
        Assert.Equal([first.InstanceId], detached.DetachedInstanceIds); // the second has "other", left as it is
        Assert.Empty(detached.KeyPair.InstanceIds);
        Assert.Equal("other", (await account.GetInstanceAsync(second.InstanceId)).KeyPairName);

        // Deleting the instance lets its pair go; then both pairs can be deleted, and a name not there is skipped.
        await account.DeleteInstanceAsync(second.InstanceId);
        var deleted = await account.KeyPairs().DeleteKeyPairsAsync(new DeleteKeyPairsRequest { RegionId = Hangzhou, KeyPairNames = { "other", "ops", "never-made" } });
        Assert.Equal(["other", "ops"], deleted.Deleted);
        Assert.Empty((await account.KeyPairs().ListKeyPairsAsync(new ListKeyPairsRequest { RegionId = Hangzhou })).KeyPairs);
    }

    [Fact]
    public async Task AnotherAccountsPairOrInstanceIsNotFound()
    {
        var a = await Cluster.NewAccountAsync();
        var b = await Cluster.NewAccountAsync();
        await a.KeyPairs().CreateKeyPairAsync(new CreateKeyPairRequest { RegionId = Hangzhou, KeyPairName = "mine" });
        var aInstance = await a.NewInstanceAsync();
        var bInstance = await b.NewInstanceAsync();

        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidKeyPairName.NotFound", () =>
            b.KeyPairs().AttachKeyPairAsync(new AttachKeyPairRequest { RegionId = Hangzhou, KeyPairName = "mine", InstanceIds = { bInstance.InstanceId } }));
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidInstanceId.NotFound", () =>
            a.KeyPairs().AttachKeyPairAsync(new AttachKeyPairRequest { RegionId = Hangzhou, KeyPairName = "mine", InstanceIds = { aInstance.InstanceId, bInstance.InstanceId } }));
        Assert.Equal("", (await a.GetInstanceAsync(aInstance.InstanceId)).KeyPairName); // all or none
        await RpcAssert.FailsAsync(StatusCode.NotFound, "InvalidKeyPairName.NotFound", () =>
            b.Instances().CreateInstanceAsync(new CreateInstanceRequest { RegionId = Hangzhou, ImageId = Ubuntu, KeyPairName = "mine" }));
        Assert.Empty((await b.KeyPairs().ListKeyPairsAsync(new ListKeyPairsRequest { RegionId = Hangzhou })).KeyPairs);
        Assert.Empty((await b.KeyPairs().DeleteKeyPairsAsync(new DeleteKeyPairsRequest { RegionId = Hangzhou, KeyPairNames = { "mine" } })).Deleted);
        Assert.Single((await a.KeyPairs().ListKeyPairsAsync(new ListKeyPairsRequest { RegionId = Hangzhou })).KeyPairs);
    }

    [Fact]
    public async Task TooManyNamesOrInstancesAreRefusedAndChangeNothing()
    {
        var account = await Cluster.NewAccountAsync();
        await account.KeyPairs().CreateKeyPairAsync(new CreateKeyPairRequest { RegionId = Hangzhou, KeyPairName = "keep" });
        var instance = await account.NewInstanceAsync();
        var names = Enumerable.Range(0, 100).Select(i => $"k{i}").Append("keep").ToList();

        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidKeyPairNames.ValueNotSupported", () =>
            account.KeyPairs().DeleteKeyPairsAsync(new DeleteKeyPairsRequest { RegionId = Hangzhou, KeyPairNames = { names } }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidKeyPairNames.ValueNotSupported", () =>
            account.KeyPairs().DeleteKeyPairsAsync(new DeleteKeyPairsRequest { RegionId = Hangzhou }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidKeyPairNames.ValueNotSupported", () =>
            account.KeyPairs().ListKeyPairsAsync(new ListKeyPairsRequest { RegionId = Hangzhou, KeyPairNames = { names } }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidKeyPairName.Malformed", () =>
            account.KeyPairs().DeleteKeyPairsAsync(new DeleteKeyPairsRequest { RegionId = Hangzhou, KeyPairNames = { "keep", new string('k', 200) } }));
        var instances = Enumerable.Repeat(instance.InstanceId, 1).Concat(Enumerable.Range(0, 50).Select(i => $"i-{i:D20}")).ToList();
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidInstanceIds.ValueNotSupported", () =>
            account.KeyPairs().AttachKeyPairAsync(new AttachKeyPairRequest { RegionId = Hangzhou, KeyPairName = "keep", InstanceIds = { instances } }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidInstanceIds.ValueNotSupported", () =>
            account.KeyPairs().DetachKeyPairAsync(new DetachKeyPairRequest { RegionId = Hangzhou, KeyPairName = "keep" }));
        await RpcAssert.FailsAsync(StatusCode.InvalidArgument, "InvalidArgument", () =>
            account.KeyPairs().ListKeyPairsAsync(new ListKeyPairsRequest { RegionId = Hangzhou, PageSize = -1 }));

        Assert.Equal("", (await account.GetInstanceAsync(instance.InstanceId)).KeyPairName);
        Assert.Single((await account.KeyPairs().ListKeyPairsAsync(new ListKeyPairsRequest { RegionId = Hangzhou })).KeyPairs);
    }

    /// <summary>The OpenSSH blob of an RSA public key (RFC 4253: name, e, n as mpints).</summary>
    internal static byte[] RsaBlob(RSAParameters parameters) =>
        Blob("ssh-rsa"u8.ToArray(), Mpint(parameters.Exponent!), Mpint(parameters.Modulus!));

#pragma warning disable CA5351 // ECS fingerprints key pairs with MD5 (RFC 4716); the test computes the same to compare
    internal static string Md5Fingerprint(byte[] blob) => string.Join(':', MD5.HashData(blob).Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
#pragma warning restore CA5351

    private static byte[] Mpint(byte[] unsigned) => (unsigned[0] & 0x80) != 0 ? [0, .. unsigned] : unsigned;

    private static byte[] Blob(params byte[][] fields)
    {
        var blob = new List<byte>();
        foreach (var field in fields)
        {
            var length = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, field.Length);
            blob.AddRange(length);
            blob.AddRange(field);
        }
        return [.. blob];
    }

    private static string? SshKeygen() => File.Exists("/usr/bin/ssh-keygen") ? "/usr/bin/ssh-keygen" : null;

    private static string Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        args.ToList().ForEach(start.ArgumentList.Add);
        using var process = Process.Start(start)!;
        var text = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)}: {error}");
        return text;
    }

    [Fact]
    public async Task OfPairsOfOneNameCreatedAtOnceOneIsMade()
    {
        var account = await Cluster.NewAccountAsync();

        var attempts = await Task.WhenAll(Enumerable.Range(0, 6).Select(async _ =>
        {
            try
            {
                return (await account.KeyPairs().CreateKeyPairAsync(new CreateKeyPairRequest { RegionId = Hangzhou, KeyPairName = "racer" })).KeyPair;
            }
            catch (RpcException ex) when (RpcAssert.Reason(ex) == "KeyPair.AlreadyExist")
            {
                return null;
            }
        }));

        var made = attempts.OfType<KeyPair>().Single();
        Assert.Equal(made.KeyPairFingerPrint, (await account.KeyPairs().ListKeyPairsAsync(new ListKeyPairsRequest { RegionId = Hangzhou })).KeyPairs.Single().KeyPairFingerPrint);
    }
}
