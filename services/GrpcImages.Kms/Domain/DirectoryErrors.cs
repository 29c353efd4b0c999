using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Kms.Domain;

/// <summary>Resource directories' errors (R37), with the codes Alibaba Cloud's Resource Directory answers with.</summary>
public static class DirectoryErrors
{
    /// <summary>Missing, or another organization's (R36: never told apart).</summary>
    public static DomainException DirectoryNotFound(string directoryId) =>
        Fault.NotFound("EntityNotExists.ResourceDirectory", $"The resource directory {Check.Echo(directoryId)} does not exist.");

    public static DomainException NoDirectory() =>
        Fault.NotFound("EntityNotExists.ResourceDirectory", "Your account belongs to no resource directory.");

    public static DomainException FolderNotFound(string folderId) =>
        Fault.NotFound("EntityNotExists.Folder", $"The folder {Check.Echo(folderId)} does not exist.");

    /// <summary>The account is not a member of the directory (or not visible to the caller).</summary>
    public static DomainException MemberNotFound(string accountId) =>
        Fault.NotFound("EntityNotExists.Account", $"The account {accountId} is not a member of this resource directory.");

    public static DomainException HandshakeNotFound(string handshakeId) =>
        Fault.NotFound("EntityNotExists.Handshake", $"The handshake {Check.Echo(handshakeId)} does not exist.");

    public static DomainException HandshakeDirectoryGone(string directoryId) =>
        Fault.NotFound("SpecifiedResourceDirectoryNotExists", $"The resource directory {directoryId} that sent the handshake no longer exists.");

    public static DomainException AccountNotFound(string accountId) =>
        Fault.NotFound("InvalidAccount.NotFound", $"The account {Check.Echo(accountId)} does not exist.");

    /// <summary>An account belongs to at most one directory.</summary>
    public static DomainException InAnotherDirectory(string accountId) =>
        Fault.FailedPrecondition("NotSupport.AccountInAnotherResourceDirectory",
            $"The account {accountId} already belongs to a resource directory; it must leave it first.");

    /// <summary>A member that is not the management account asks to change the directory.</summary>
    public static DomainException NotManagement() =>
        Fault.PermissionDenied("NoPermission", "Only the resource directory's management account (or an operator) may change it.");

    public static DomainException FolderNameTaken(string name) =>
        Fault.AlreadyExists("EntityAlreadyExists.Folder", $"The parent folder already has a sub-folder named {name}.");

    public static DomainException TooDeep(int most) =>
        Fault.ResourceExhausted("LimitExceeded.FolderDepth", $"Folders nest at most {most} levels under the root folder.");

    public static DomainException TooManyFolders(int most) =>
        Fault.ResourceExhausted("LimitExceeded.Folder", $"A resource directory has at most {most} folders.");

    public static DomainException HasSubFolders() =>
        Fault.FailedPrecondition("DeleteConflict.Folder.SubFolder", "The folder has sub-folders; delete them first.");

    public static DomainException FolderHasMembers() =>
        Fault.FailedPrecondition("DeleteConflict.Folder.Account", "The folder has member accounts; move or remove them first.");

    public static DomainException DirectoryHasMembers() =>
        Fault.FailedPrecondition("DeleteConflict.ResourceDir.Account", "The resource directory has members besides its management account; remove them first.");

    public static DomainException IsManagement(string accountId) =>
        Fault.FailedPrecondition("AccountTypeOrStatusMismatch", $"The account {accountId} manages the resource directory; it leaves only with the directory.");

    public static DomainException HandshakePending(string accountId) =>
        Fault.AlreadyExists("EntityAlreadyExists.Handshake", $"The account {accountId} already has a pending handshake from this resource directory.");

    public static DomainException TooManyHandshakes(int most) =>
        Fault.ResourceExhausted("LimitExceeded.Handshake", $"A resource directory has at most {most} pending handshakes.");

    public static DomainException HandshakeNotPending(string status) =>
        Fault.FailedPrecondition("HandshakeStatusMismatch", $"The handshake is {status}; only a pending one can be answered.");
}
