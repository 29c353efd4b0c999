using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Testing;

namespace GrpcImages.IntegrationTests;

/// <summary>
/// The OSS endpoint's HTTPS listener (ObjectStore:OssCertificateFile, :OssCertificateKeyFile): given a PEM certificate for the OSS
/// names, made here under a test certificate authority, it serves the same API over TLS, so a client that checks the certificate
/// against that authority (as Packer's Go SDK does with SSL_CERT_FILE) talks to it under the real names.
/// </summary>
public sealed class OssHttpsTests(ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("gi-oss-tls-");

    public void Dispose() => _work.Delete(recursive: true);

    /// <summary>A test CA and a certificate it signed for *.aliyuncs.com and *.oss-cn-hangzhou.aliyuncs.com, the leaf's as PEM files.</summary>
    private (X509Certificate2 Authority, string CertificateFile, string KeyFile) MakeCertificates()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=GrpcImages test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = DateTimeOffset.UtcNow;
        var authority = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = new CertificateRequest("CN=*.aliyuncs.com", leafKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("*.aliyuncs.com");
        names.AddDnsName("*.oss-cn-hangzhou.aliyuncs.com");
        leafRequest.CertificateExtensions.Add(names.Build());
        leafRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        leafRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var leaf = leafRequest.Create(authority, now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(12));
        var certificateFile = Path.Combine(_work.FullName, "oss.crt");
        var keyFile = Path.Combine(_work.FullName, "oss.key");
        File.WriteAllText(certificateFile, leaf.ExportCertificatePem());
        File.WriteAllText(keyFile, leafKey.ExportPkcs8PrivateKeyPem());
        return (authority, certificateFile, keyFile);
    }

    /// <summary>A handler that connects every name to the HTTPS port on loopback (as a hosts file would) and trusts only the test CA.</summary>
    private static SocketsHttpHandler Trusting(X509Certificate2 authority, int port, List<string> seen) => new()
    {
        ConnectCallback = async (_, token) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync("127.0.0.1", port, token);
            return new NetworkStream(socket, ownsSocket: true);
        },
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                {
                    return false;
                }
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(authority);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                var trusted = chain.Build(new X509Certificate2(certificate));
                seen.Add(certificate.Subject);
                return trusted;
            },
        },
    };

    [Fact]
    public async Task R24_TheHttpsListenerServesTheOssApiUnderTheConfiguredCertificateForTheOssNames()
    {
        var (authority, certificateFile, keyFile) = MakeCertificates();
        using var _ = authority;
        await using var cluster = await TestCluster.StartAsync(new Dictionary<string, string?>
        {
            ["Regions:0:Id"] = "cn-hangzhou",
            ["ObjectStore:OssCertificateFile"] = certificateFile,
            ["ObjectStore:OssCertificateKeyFile"] = keyFile,
            ["ObjectStore:OssHttpsPort"] = "0",
        }, [ServiceKind.Kms, ServiceKind.Sharing, ServiceKind.Transfer], output: output);
        var account = await cluster.NewAccountAsync();
        var key = await account.Client<AccessKeyService.AccessKeyServiceClient>().CreateAccessKeyAsync(new CreateAccessKeyRequest { AccountId = account.AccountId });
        var port = cluster.OssHttpsPort;
        var seen = new List<string>();
        var endpoint = new Uri($"https://oss-cn-hangzhou.aliyuncs.com:{port}/");
        using var pathStyle = new OssClient(endpoint, key.AccessKey.AccessKeyId, key.AccessKeySecret, handler: Trusting(authority, port, seen));
        using var hosted = new OssClient(endpoint, key.AccessKey.AccessKeyId, key.AccessKeySecret, handler: Trusting(authority, port, seen))
        {
            VirtualHosted = true, V4 = true,
        };
        var bucket = $"tls-{Guid.NewGuid():N}"[..30];

        Assert.Equal(200, (await pathStyle.SendAsync(HttpMethod.Put, bucket)).Status);
        var body = RandomNumberGenerator.GetBytes(1_500_000);
        var put = await hosted.PutAsync(bucket, "disk.raw", body);
        Assert.True(put.Status == 200, put.Text);
        Assert.Equal(body, (await pathStyle.GetAsync(bucket, "disk.raw")).Body);
        Assert.Equal("oss-cn-hangzhou", (await hosted.GetAsync(bucket, query: "location")).Xml.Value);
        Assert.Contains("CN=*.aliyuncs.com", seen);

        // The same object through the plain HTTP port: one store behind both listeners.
        using var plain = new OssClient(cluster.OssEndpoint, key.AccessKey.AccessKeyId, key.AccessKeySecret);
        Assert.Equal(body, (await plain.GetAsync(bucket, "disk.raw")).Body);
        // The HTTPS port speaks only TLS: plain HTTP sent to it gets no OSS answer.
        using var confused = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var refused = await Record.ExceptionAsync(() => confused.GetAsync($"http://127.0.0.1:{port}/{bucket}/disk.raw"));
        Assert.IsAssignableFrom<HttpRequestException>(refused);
    }
}
