using Grpc.Core;
using GrpcImages.Contracts.Catalog.V1;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.ServiceDefaults.Tests;

/// <summary>The bounds every request has before a handler runs, and those a field declares in the schema.</summary>
public class RequestShapeTests
{
    [Fact]
    public void AStringIsAtMost8KiBUnlessItsFieldDeclaresMore()
    {
        RequestShape.Check(new GetImageRequest { ImageId = new string('a', RequestShape.MaxStringLength) });
        var refused = Assert.Throws<DomainException>(() => RequestShape.Check(new GetImageRequest { ImageId = new string('a', RequestShape.MaxStringLength + 1) }));
        Assert.Equal((StatusCode.InvalidArgument, "InvalidParameter"), (refused.Code, refused.Reason));
        Assert.Equal("image_id", Assert.Single(refused.Violations).Field);

        // A signed request's string to sign is as long as the gateway's requests make it (a 1 MiB body, percent-encoded twice).
        var declared = RequestShape.MaxLength(VerifySignatureRequest.Descriptor.FindFieldByNumber(VerifySignatureRequest.StringToSignFieldNumber));
        Assert.True(declared >= 5 * 1024 * 1024, $"{declared}");
        RequestShape.Check(new VerifySignatureRequest { StringToSign = new string('a', declared) });
        Assert.Throws<DomainException>(() => RequestShape.Check(new VerifySignatureRequest { StringToSign = new string('a', declared + 1) }));
    }

    [Fact]
    public void ARefusalNamesTheFieldInItsViolationButNotInItsMessage()
    {
        // The message reaches people through edges (the ECS gateway) where the schema's names mean nothing.
        var refused = Assert.Throws<DomainException>(() => RequestShape.Check(new VerifySignatureRequest { StringToSign = new string('a', 7 << 20) }));
        Assert.DoesNotContain("string_to_sign", refused.Message, StringComparison.Ordinal);
        Assert.Equal("string_to_sign", Assert.Single(refused.Violations).Field);
    }
}
