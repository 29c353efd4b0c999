using Google.Protobuf.WellKnownTypes;
using GrpcImages.Contracts.Kms.V1;
using GrpcImages.Kms.Storage;
using GrpcImages.ServiceDefaults.Errors;
using GrpcImages.ServiceDefaults.Identity;
using GrpcImages.ServiceDefaults.Storage;
using GrpcImages.ServiceDefaults.Validation;

namespace GrpcImages.Kms.Domain;

/// <summary>
/// Resource directories of organizations (R37): a management account, a tree of folders under a root folder,
/// member accounts each in one folder, and handshakes that invite accounts in. An operator may do anything; the
/// management account changes its directory; members read it. Another directory is missing to a caller (R36).
/// </summary>
public sealed partial class ResourceDirectories(ResourceDirectoryStore store, DirectoryStore accounts, TimeProvider time, ILogger<ResourceDirectories> logger)
{
    /// <summary>Levels of folders under the root folder.</summary>
    public const int MaxFolderDepth = 5;

    public const int MaxFolders = 1_000;

    public const int MaxPendingHandshakes = 100;

    public const int MaxNoteLength = 1_024;

    public const int MaxBatch = 100;

    public static readonly TimeSpan HandshakeLifetime = TimeSpan.FromDays(15);

    /// <summary>What the caller may do with a directory.</summary>
    private enum Standing
    {
        None,
        Member,
        Manager,
    }

    public async Task<ResourceDirectory> CreateDirectoryAsync(Caller caller, CreateResourceDirectoryRequest request)
    {
        string management;
        if (caller.IsOperator)
        {
            management = Check.AccountId(request.ManagementAccountId, "management_account_id");
        }
        else
        {
            management = caller.RequireAccount();
            if (request.ManagementAccountId.Length > 0 && request.ManagementAccountId != management)
            {
                throw DirectoryErrors.AccountNotFound(request.ManagementAccountId);
            }
        }
        var token = ClientToken.Of(request, request.ClientToken);
        if (token.Resolve(await store.FindClientTokenAsync("rd", token)) is { } prior)
        {
            return await RequireDirectoryAsync(prior);
        }
        for (var attempt = 0; ; attempt++)
        {
            var now = time.GetUtcNow();
            var directory = new ResourceDirectory
            {
                DirectoryId = OrganizationIds.NewDirectoryId(),
                ManagementAccountId = management,
                RootFolderId = OrganizationIds.NewRootFolderId(),
                CreateTime = Timestamp.FromDateTimeOffset(now),
            };
            var root = new Folder
            {
                FolderId = directory.RootFolderId,
                DirectoryId = directory.DirectoryId,
                FolderName = "Root",
                Path = $"{directory.DirectoryId}/{directory.RootFolderId}",
                CreateTime = directory.CreateTime,
            };
            var (result, stored) = await store.CreateDirectoryAsync(directory, root, now.ToUnixTimeMilliseconds(), token);
            switch (result)
            {
                case DirectoryResult.Done:
                    LogDirectoryCreated(directory.DirectoryId, management, caller.Actor);
                    directory.MemberCount = 1;
                    return directory;
                case DirectoryResult.TokenUsed:
                    return await RequireDirectoryAsync(ClientTokens.ResolveStored(stored, token.Fingerprint));
                case DirectoryResult.IdTaken when attempt < 5:
                    continue;
                default:
                    throw Refusal(result, management, directory.DirectoryId, "");
            }
        }
    }

    public async Task<ResourceDirectory> GetDirectoryAsync(Caller caller, string directoryId) =>
        (await DirectoryForAsync(caller, directoryId, Standing.Member)).Directory;

    public async Task<(IReadOnlyList<ResourceDirectory> Directories, string NextPageToken)> ListDirectoriesAsync(Caller caller, ListResourceDirectoriesRequest request)
    {
        caller.RequireOperator();
        var size = Check.PageSize(request.PageSize);
        var (ids, next) = await store.ListDirectoryIdsAsync(PageToken.Decode(request.PageToken), size);
        var directories = new List<ResourceDirectory>();
        foreach (var id in ids)
        {
            if (await store.GetDirectoryAsync(id) is { } directory)
            {
                directories.Add(directory);
            }
        }
        return (directories, PageToken.Encode(next));
    }

    public async Task DeleteDirectoryAsync(Caller caller, string directoryId)
    {
        var (directory, _) = await DirectoryForAsync(caller, directoryId, Standing.Manager);
        var result = await store.DeleteDirectoryAsync(directory);
        if (result != DirectoryResult.Done)
        {
            throw Refusal(result, directory.ManagementAccountId, directory.DirectoryId, "");
        }
        LogDirectoryDeleted(directory.DirectoryId, caller.Actor);
    }

    public async Task<Folder> CreateFolderAsync(Caller caller, CreateFolderRequest request)
    {
        var parent = await FolderForAsync(caller, request.ParentFolderId, "parent_folder_id", Standing.Manager);
        var name = FolderName(request.FolderName);
        if (Depth(parent) + 1 > MaxFolderDepth)
        {
            throw DirectoryErrors.TooDeep(MaxFolderDepth);
        }
        var token = ClientToken.Of(request, request.ClientToken);
        var scope = $"fd:{parent.DirectoryId}";
        if (token.Resolve(await store.FindClientTokenAsync(scope, token)) is { } prior)
        {
            return await store.GetFolderAsync(prior) ?? throw DirectoryErrors.FolderNotFound(prior);
        }
        for (var attempt = 0; ; attempt++)
        {
            var id = OrganizationIds.NewFolderId();
            var folder = new Folder
            {
                FolderId = id,
                DirectoryId = parent.DirectoryId,
                ParentFolderId = parent.FolderId,
                FolderName = name,
                Path = $"{parent.Path}/{id}",
                CreateTime = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
            };
            var (result, stored) = await store.CreateFolderAsync(folder, MaxFolders, token);
            switch (result)
            {
                case DirectoryResult.Done:
                    return folder;
                case DirectoryResult.TokenUsed:
                    var made = ClientTokens.ResolveStored(stored, token.Fingerprint);
                    return await store.GetFolderAsync(made) ?? throw DirectoryErrors.FolderNotFound(made);
                case DirectoryResult.IdTaken when attempt < 5:
                    continue;
                case DirectoryResult.NameTaken:
                    throw DirectoryErrors.FolderNameTaken(name);
                default:
                    throw Refusal(result, "", parent.DirectoryId, parent.FolderId);
            }
        }
    }

    public Task<Folder> GetFolderAsync(Caller caller, string folderId) => FolderForAsync(caller, folderId, "folder_id", Standing.Member);

    public async Task<(IReadOnlyList<Folder> Folders, string NextPageToken)> ListFoldersAsync(Caller caller, ListFoldersRequest request)
    {
        var size = Check.PageSize(request.PageSize);
        var parentId = request.ParentFolderId;
        if (parentId.Length == 0)
        {
            parentId = (await DirectoryForAsync(caller, "", Standing.Member)).Directory.RootFolderId;
        }
        var parent = await FolderForAsync(caller, parentId, "parent_folder_id", Standing.Member);
        var (page, next) = await store.SubFoldersAsync(parent.FolderId, PageToken.Decode(request.PageToken), size);
        return (page, PageToken.Encode(next));
    }

    public async Task DeleteFolderAsync(Caller caller, string folderId)
    {
        var folder = await FolderForAsync(caller, folderId, "folder_id", Standing.Manager);
        if (folder.ParentFolderId.Length == 0)
        {
            throw Fault.InvalidArgument("InvalidParameter.FolderId", "folder_id", "The root folder goes only with its resource directory (DeleteResourceDirectory).");
        }
        var result = await store.DeleteFolderAsync(folder);
        if (result != DirectoryResult.Done)
        {
            throw Refusal(result, "", folder.DirectoryId, folder.FolderId);
        }
    }

    public async Task<Handshake> InviteAsync(Caller caller, InviteAccountRequest request)
    {
        var (directory, _) = await DirectoryForAsync(caller, request.DirectoryId, Standing.Manager);
        var target = Check.AccountId(request.TargetAccountId, "target_account_id");
        if (request.Note.Length > MaxNoteLength)
        {
            throw Fault.InvalidArgument("InvalidParameter.Note", "note", $"A note is at most {MaxNoteLength} characters.");
        }
        var token = ClientToken.Of(request, request.ClientToken);
        var scope = $"hs:{directory.DirectoryId}";
        if (token.Resolve(await store.FindClientTokenAsync(scope, token)) is { } prior)
        {
            return Present((await store.GetHandshakeAsync(prior))?.Handshake ?? throw DirectoryErrors.HandshakeNotFound(prior));
        }
        for (var attempt = 0; ; attempt++)
        {
            var now = time.GetUtcNow();
            var handshake = new Handshake
            {
                HandshakeId = OrganizationIds.NewHandshakeId(),
                DirectoryId = directory.DirectoryId,
                ManagementAccountId = directory.ManagementAccountId,
                TargetAccountId = target,
                Note = request.Note,
                Status = HandshakeStatus.Pending,
                CreateTime = Timestamp.FromDateTimeOffset(now),
                ModifyTime = Timestamp.FromDateTimeOffset(now),
                ExpireTime = Timestamp.FromDateTimeOffset(now + HandshakeLifetime),
            };
            var (result, stored) = await store.InviteAsync(handshake, MaxPendingHandshakes, token);
            switch (result)
            {
                case DirectoryResult.Done:
                    LogInvited(directory.DirectoryId, target, handshake.HandshakeId);
                    return handshake;
                case DirectoryResult.TokenUsed:
                    var made = ClientTokens.ResolveStored(stored, token.Fingerprint);
                    return Present((await store.GetHandshakeAsync(made))?.Handshake ?? throw DirectoryErrors.HandshakeNotFound(made));
                case DirectoryResult.IdTaken when attempt < 5:
                    continue;
                case DirectoryResult.HandshakePending:
                    throw DirectoryErrors.HandshakePending(target);
                case DirectoryResult.TooManyHandshakes:
                    throw DirectoryErrors.TooManyHandshakes(MaxPendingHandshakes);
                default:
                    throw Refusal(result, target, directory.DirectoryId, "");
            }
        }
    }

    /// <summary>The invited account joins the root folder of the directory that invited it.</summary>
    public Task<Handshake> AcceptAsync(Caller caller, string handshakeId) =>
        ConflictRetry.RunAsync<Handshake>(async () =>
        {
            var handshake = await InvitedHandshakeAsync(caller, handshakeId);
            var directory = await store.GetDirectoryAsync(handshake.Handshake.DirectoryId)
                ?? throw DirectoryErrors.HandshakeDirectoryGone(handshake.Handshake.DirectoryId);
            var root = await store.GetFolderAsync(directory.RootFolderId) ?? throw DirectoryErrors.HandshakeDirectoryGone(directory.DirectoryId);
            var accepted = Answered(handshake.Handshake, HandshakeStatus.Accepted);
            var result = await store.AcceptAsync(handshake, accepted, root, time.GetUtcNow().ToUnixTimeMilliseconds());
            switch (result)
            {
                case DirectoryResult.Done:
                    LogJoined(accepted.TargetAccountId, directory.DirectoryId, caller.Actor);
                    return accepted;
                case DirectoryResult.Changed:
                    return Attempt<Handshake>.Again;
                case DirectoryResult.NoDirectory or DirectoryResult.NoFolder:
                    throw DirectoryErrors.HandshakeDirectoryGone(directory.DirectoryId);
                default:
                    throw Refusal(result, accepted.TargetAccountId, directory.DirectoryId, root.FolderId);
            }
        });

    public Task<Handshake> DeclineAsync(Caller caller, string handshakeId) =>
        ConflictRetry.RunAsync<Handshake>(async () =>
        {
            var handshake = await InvitedHandshakeAsync(caller, handshakeId);
            return await EndAsync(handshake, HandshakeStatus.Declined);
        });

    public Task<Handshake> CancelAsync(Caller caller, string handshakeId) =>
        ConflictRetry.RunAsync<Handshake>(async () =>
        {
            var handshake = await PendingAsync(handshakeId);
            var standing = await StandingAsync(caller, handshake.Handshake.DirectoryId);
            if (standing == Standing.None)
            {
                throw DirectoryErrors.HandshakeNotFound(handshakeId);
            }
            if (standing < Standing.Manager)
            {
                throw DirectoryErrors.NotManagement();
            }
            return await EndAsync(handshake, HandshakeStatus.Cancelled);
        });

    public async Task<(IReadOnlyList<Handshake> Handshakes, string NextPageToken)> ListHandshakesAsync(Caller caller, ListHandshakesRequest request)
    {
        var size = Check.PageSize(request.PageSize);
        string? account = null;
        string? directory = null;
        if (request.DirectoryId.Length == 0)
        {
            account = caller.RequireAccount();
        }
        else
        {
            directory = (await DirectoryForAsync(caller, request.DirectoryId, Standing.Manager)).Directory.DirectoryId;
        }
        var (page, next) = await store.HandshakesAsync(account, directory, PageToken.Decode(request.PageToken), size);
        return (page.Select(Present).ToList(), PageToken.Encode(next));
    }

    /// <summary>An operator adds an account without a handshake.</summary>
    public async Task<Membership> AddAccountAsync(Caller caller, AddAccountRequest request)
    {
        caller.RequireOperator();
        var (directory, _) = await DirectoryForAsync(caller, request.DirectoryId, Standing.Manager);
        var account = Check.AccountId(request.AccountId, "account_id");
        var folder = await FolderForAsync(caller, request.FolderId.Length > 0 ? request.FolderId : directory.RootFolderId, "folder_id", Standing.Manager);
        if (folder.DirectoryId != directory.DirectoryId)
        {
            throw DirectoryErrors.FolderNotFound(folder.FolderId);
        }
        var result = await store.JoinAsync(account, folder, time.GetUtcNow().ToUnixTimeMilliseconds());
        if (result != DirectoryResult.Done)
        {
            throw Refusal(result, account, directory.DirectoryId, folder.FolderId);
        }
        LogJoined(account, directory.DirectoryId, caller.Actor);
        return await MembershipAsync(account);
    }

    public Task<Membership> MoveAccountAsync(Caller caller, MoveAccountRequest request)
    {
        var account = Check.AccountId(request.AccountId, "account_id");
        return ConflictRetry.RunAsync<Membership>(async () =>
        {
            var destination = await FolderForAsync(caller, request.DestinationFolderId, "destination_folder_id", Standing.Manager);
            var member = await store.GetMemberAsync(account);
            if (member is null || member.DirectoryId != destination.DirectoryId)
            {
                throw DirectoryErrors.MemberNotFound(account);
            }
            if (member.FolderId == destination.FolderId)
            {
                return await MembershipAsync(account);
            }
            var result = await store.MoveAsync(member, destination, time.GetUtcNow().ToUnixTimeMilliseconds());
            switch (result)
            {
                case DirectoryResult.Done:
                    LogMoved(account, member.FolderId, destination.FolderId, caller.Actor);
                    return await MembershipAsync(account);
                case DirectoryResult.Changed:
                    return Attempt<Membership>.Again;
                default:
                    throw Refusal(result, account, destination.DirectoryId, destination.FolderId);
            }
        });
    }

    public async Task RemoveAccountAsync(Caller caller, RemoveAccountRequest request)
    {
        var (directory, _) = await DirectoryForAsync(caller, request.DirectoryId, Standing.Manager);
        var account = Check.AccountId(request.AccountId, "account_id");
        await ConflictRetry.RunAsync<bool>(async () =>
        {
            var member = await store.GetMemberAsync(account);
            if (member is null || member.DirectoryId != directory.DirectoryId)
            {
                throw DirectoryErrors.MemberNotFound(account);
            }
            var result = await store.LeaveAsync(member);
            switch (result)
            {
                case DirectoryResult.Done:
                    LogRemoved(account, directory.DirectoryId, caller.Actor);
                    return true;
                case DirectoryResult.Changed:
                    return Attempt<bool>.Again;
                default:
                    throw Refusal(result, account, directory.DirectoryId, member.FolderId);
            }
        });
    }

    public async Task<(IReadOnlyList<Membership> Members, string NextPageToken)> ListMembersAsync(Caller caller, ListMembersRequest request)
    {
        var size = Check.PageSize(request.PageSize);
        var (directory, _) = await DirectoryForAsync(caller, request.DirectoryId, Standing.Member);
        string? folder = null;
        if (request.FolderId.Length > 0)
        {
            folder = (await FolderForAsync(caller, request.FolderId, "folder_id", Standing.Member)).FolderId;
        }
        var (ids, next) = await store.MemberIdsAsync(directory.DirectoryId, folder, PageToken.Decode(request.PageToken), size);
        var members = await MembershipsAsync(ids);
        return (members.Where(m => m.DirectoryId == directory.DirectoryId).ToList(), PageToken.Encode(next));
    }

    /// <summary>The caller's own membership, one of its directory's members, or anyone's for an operator or a service of the cluster.</summary>
    public async Task<Membership> GetMembershipAsync(Caller caller, string accountId)
    {
        if (accountId.Length == 0)
        {
            return await MembershipAsync(caller.RequireAccount());
        }
        if (!Check.IsAccountId(accountId))
        {
            throw DirectoryErrors.AccountNotFound(accountId);
        }
        var membership = await MembershipAsync(accountId);
        if (caller.IsOperator || caller.IsClusterService || (caller.IsAccount && caller.AccountId == accountId))
        {
            return membership;
        }
        if (caller.IsAccount && membership.DirectoryId.Length > 0 && (await store.GetMemberAsync(caller.AccountId))?.DirectoryId == membership.DirectoryId)
        {
            return membership;
        }
        throw DirectoryErrors.AccountNotFound(accountId);
    }

    /// <summary>Internal: the memberships of up to <see cref="MaxBatch"/> accounts (R37's access checks), in one round trip each way.</summary>
    public async Task<IReadOnlyList<Membership>> BatchGetMembershipsAsync(BatchGetMembershipsRequest request)
    {
        if (request.AccountIds.Count > MaxBatch)
        {
            throw Fault.InvalidArgument("InvalidParameter.AccountCount", "account_ids", $"Ask for at most {MaxBatch} accounts at once.");
        }
        for (var i = 0; i < request.AccountIds.Count; i++)
        {
            Check.AccountId(request.AccountIds[i], $"account_ids[{i}]");
        }
        return await MembershipsAsync(request.AccountIds);
    }

    /// <summary>The directory an account belongs to, or null (for accounts' organization_id).</summary>
    public async Task<string?> DirectoryOfAsync(string accountId) => (await store.GetMemberAsync(accountId))?.DirectoryId;

    /// <summary>The root folder of a directory a new account joins (CreateAccount with an organization_id), or NOT_FOUND.</summary>
    public async Task<Folder> RootFolderAsync(string directoryId)
    {
        var directory = await store.GetDirectoryAsync(directoryId) ?? throw DirectoryErrors.DirectoryNotFound(directoryId);
        return await store.GetFolderAsync(directory.RootFolderId) ?? throw DirectoryErrors.DirectoryNotFound(directoryId);
    }

    private async Task<Membership> MembershipAsync(string accountId) =>
        await MembershipsAsync([accountId]) is [var membership] ? membership : throw DirectoryErrors.AccountNotFound(accountId);

    /// <summary>Memberships of the accounts that exist, in the order asked.</summary>
    private async Task<IReadOnlyList<Membership>> MembershipsAsync(IReadOnlyList<string> accountIds)
    {
        var members = store.MembersAsync(accountIds);
        var records = accounts.GetAccountsAsync(accountIds);
        var (found, joined) = (await records, await members);
        var memberships = new List<Membership>(accountIds.Count);
        for (var i = 0; i < accountIds.Count; i++)
        {
            if (found[i] is not { } account)
            {
                continue;
            }
            var membership = new Membership { AccountId = account.AccountId, Site = account.Site, DisplayName = account.DisplayName };
            if (joined[i] is { } member)
            {
                membership.DirectoryId = member.DirectoryId;
                membership.FolderId = member.FolderId;
                membership.Path = member.Path;
                membership.JoinTime = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeMilliseconds(member.JoinedMs));
            }
            memberships.Add(membership);
        }
        return memberships;
    }

    /// <summary>
    /// The directory with what the caller may do with it, at least <paramref name="needed"/>: a directory the caller
    /// neither manages nor belongs to is missing (R36); a member asking to change it is refused. An empty id is the
    /// calling account's own directory.
    /// </summary>
    private async Task<(ResourceDirectory Directory, Standing Standing)> DirectoryForAsync(Caller caller, string directoryId, Standing needed)
    {
        if (directoryId.Length == 0)
        {
            if (!caller.IsAccount)
            {
                throw Fault.InvalidArgument("MissingParameter.ResourceDirectoryId", "directory_id", "Name the resource directory.");
            }
            directoryId = (await store.GetMemberAsync(caller.AccountId))?.DirectoryId ?? throw DirectoryErrors.NoDirectory();
        }
        else if (!OrganizationIds.IsDirectoryId(directoryId))
        {
            throw Fault.InvalidArgument("InvalidParameter.ResourceDirectoryId", "directory_id",
                "A resource directory id is \"rd-\" followed by 6-32 lowercase letters or digits.");
        }
        var directory = await store.GetDirectoryAsync(directoryId) ?? throw DirectoryErrors.DirectoryNotFound(directoryId);
        var standing = await StandingAsync(caller, directory);
        if (standing == Standing.None)
        {
            throw DirectoryErrors.DirectoryNotFound(directoryId);
        }
        if (standing < needed)
        {
            throw DirectoryErrors.NotManagement();
        }
        return (directory, standing);
    }

    /// <summary>A folder of a directory the caller stands in as <paramref name="needed"/> (a folder elsewhere is missing).</summary>
    private async Task<Folder> FolderForAsync(Caller caller, string folderId, string field, Standing needed)
    {
        if (!OrganizationIds.IsFolderId(folderId))
        {
            throw Fault.InvalidArgument("InvalidParameter.FolderId", field,
                "A folder id is \"r-\" followed by 6, or \"fd-\" followed by 10, lowercase letters or digits.");
        }
        var folder = await store.GetFolderAsync(folderId) ?? throw DirectoryErrors.FolderNotFound(folderId);
        var directory = await store.GetDirectoryAsync(folder.DirectoryId) ?? throw DirectoryErrors.FolderNotFound(folderId);
        var standing = await StandingAsync(caller, directory);
        if (standing == Standing.None)
        {
            throw DirectoryErrors.FolderNotFound(folderId);
        }
        if (standing < needed)
        {
            throw DirectoryErrors.NotManagement();
        }
        return folder;
    }

    private async Task<Standing> StandingAsync(Caller caller, string directoryId) =>
        await store.GetDirectoryAsync(directoryId) is { } directory ? await StandingAsync(caller, directory) : Standing.None;

    private async Task<Standing> StandingAsync(Caller caller, ResourceDirectory directory)
    {
        if (caller.IsOperator || caller.IsClusterService)
        {
            return Standing.Manager;
        }
        if (!caller.IsAccount)
        {
            return Standing.None;
        }
        if (directory.ManagementAccountId == caller.AccountId)
        {
            return Standing.Manager;
        }
        return (await store.GetMemberAsync(caller.AccountId))?.DirectoryId == directory.DirectoryId ? Standing.Member : Standing.None;
    }

    private async Task<ResourceDirectory> RequireDirectoryAsync(string directoryId) =>
        await store.GetDirectoryAsync(directoryId) ?? throw DirectoryErrors.DirectoryNotFound(directoryId);

    /// <summary>A pending handshake sent to the calling account; anyone else's is missing.</summary>
    private async Task<StoredHandshake> InvitedHandshakeAsync(Caller caller, string handshakeId)
    {
        var account = caller.RequireAccount();
        var handshake = await PendingAsync(handshakeId);
        return handshake.Handshake.TargetAccountId == account ? handshake : throw DirectoryErrors.HandshakeNotFound(handshakeId);
    }

    /// <summary>A handshake that can still be answered: HandshakeStatusMismatch once answered, withdrawn or expired.</summary>
    private async Task<StoredHandshake> PendingAsync(string handshakeId)
    {
        if (!OrganizationIds.IsHandshakeId(handshakeId))
        {
            throw Fault.InvalidArgument("InvalidParameter.HandshakeId", "handshake_id", "A handshake id is \"h-\" followed by 16 lowercase letters or digits.");
        }
        var handshake = await store.GetHandshakeAsync(handshakeId) ?? throw DirectoryErrors.HandshakeNotFound(handshakeId);
        return handshake;
    }

    private async Task<Attempt<Handshake>> EndAsync(StoredHandshake handshake, HandshakeStatus status)
    {
        var ended = Answered(handshake.Handshake, status);
        return await store.EndHandshakeAsync(handshake, ended) switch
        {
            DirectoryResult.Done => ended,
            DirectoryResult.Changed => Attempt<Handshake>.Again,
            var other => throw Refusal(other, ended.TargetAccountId, ended.DirectoryId, ""),
        };
    }

    /// <summary>The handshake answered now; HandshakeStatusMismatch when it is not pending (or has expired).</summary>
    private Handshake Answered(Handshake handshake, HandshakeStatus status)
    {
        var current = Present(handshake);
        if (current.Status != HandshakeStatus.Pending)
        {
            throw DirectoryErrors.HandshakeNotPending(current.Status.ToString());
        }
        var answered = handshake.Clone();
        answered.Status = status;
        answered.ModifyTime = Timestamp.FromDateTimeOffset(time.GetUtcNow());
        return answered;
    }

    /// <summary>A handshake as it stands now: a pending one past its time shows as expired.</summary>
    private Handshake Present(Handshake handshake)
    {
        if (handshake.Status != HandshakeStatus.Pending || handshake.ExpireTime.ToDateTimeOffset() > time.GetUtcNow())
        {
            return handshake;
        }
        var expired = handshake.Clone();
        expired.Status = HandshakeStatus.Expired;
        expired.ModifyTime = expired.ExpireTime;
        return expired;
    }

    private static int Depth(Folder folder) => folder.Path.Count(c => c == '/') - 1;

    private static string FolderName(string name) =>
        name.Length is >= 1 and <= 24 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-')
            ? name
            : throw Fault.InvalidArgument("InvalidParameter.FolderName", "folder_name",
                "A folder name is 1-24 characters: letters, digits, '_', '.' and '-'.");

    /// <summary>The refusal a script's result stands for.</summary>
    private static DomainException Refusal(DirectoryResult result, string accountId, string directoryId, string folderId) => result switch
    {
        DirectoryResult.NoAccount => DirectoryErrors.AccountNotFound(accountId),
        DirectoryResult.InAnotherDirectory => DirectoryErrors.InAnotherDirectory(accountId),
        DirectoryResult.NoDirectory => DirectoryErrors.DirectoryNotFound(directoryId),
        DirectoryResult.NoFolder => DirectoryErrors.FolderNotFound(folderId),
        DirectoryResult.TooManyFolders => DirectoryErrors.TooManyFolders(MaxFolders),
        DirectoryResult.HasSubFolders => DirectoryErrors.HasSubFolders(),
        DirectoryResult.HasMembers when folderId.Length > 0 => DirectoryErrors.FolderHasMembers(),
        DirectoryResult.HasMembers => DirectoryErrors.DirectoryHasMembers(),
        DirectoryResult.NotMember => DirectoryErrors.MemberNotFound(accountId),
        DirectoryResult.IsManagement => DirectoryErrors.IsManagement(accountId),
        DirectoryResult.IdTaken or DirectoryResult.Changed => Fault.Aborted("OperationConflict", "The resource directory changed while the request ran; retry."),
        _ => throw new InvalidOperationException($"A resource-directory script answered {result} where it cannot."),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Resource directory {DirectoryId} created for {Management} by {Actor}")]
    private partial void LogDirectoryCreated(string directoryId, string management, string actor);

    [LoggerMessage(Level = LogLevel.Information, Message = "Resource directory {DirectoryId} deleted by {Actor}")]
    private partial void LogDirectoryDeleted(string directoryId, string actor);

    [LoggerMessage(Level = LogLevel.Information, Message = "Account {AccountId} invited to {DirectoryId} ({HandshakeId})")]
    private partial void LogInvited(string directoryId, string accountId, string handshakeId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Account {AccountId} joined {DirectoryId} ({Actor})")]
    private partial void LogJoined(string accountId, string directoryId, string actor);

    [LoggerMessage(Level = LogLevel.Information, Message = "Account {AccountId} moved from {From} to {To} by {Actor}")]
    private partial void LogMoved(string accountId, string from, string to, string actor);

    [LoggerMessage(Level = LogLevel.Information, Message = "Account {AccountId} removed from {DirectoryId} by {Actor}")]
    private partial void LogRemoved(string accountId, string directoryId, string actor);
}
