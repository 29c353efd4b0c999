// The transfer contract's task states, not System.Threading.Tasks.TaskStatus.
global using TaskStatus = GrpcImages.Contracts.Transfer.V1.TaskStatus;
