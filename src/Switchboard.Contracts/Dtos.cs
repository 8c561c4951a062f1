using System.Runtime.Serialization;

namespace Switchboard.Contracts;

// Every wire type carries [DataContract]/[DataMember] names so that MessagePack uses the same
// camelCase keys as JSON (SignalR's MessagePack resolver would otherwise use the C# names).

/// <summary>A notification pushed to clients (<c>ReceiveNotification</c>). On the wire: <c>{ message, timestamp }</c>.</summary>
[DataContract]
public sealed class NotificationDto
{
    [DataMember(Name = "message")]
    public string Message { get; set; } = "";
    [DataMember(Name = "timestamp")]
    public DateTime Timestamp { get; set; }
}

/// <summary>One price tick of <c>StreamStockPrices</c>. On the wire: <c>{ symbol, price, timestamp }</c>.</summary>
[DataContract]
public sealed class StockPrice
{
    [DataMember(Name = "symbol")]
    public string Symbol { get; set; } = "";
    [DataMember(Name = "price")]
    public double Price { get; set; }
    [DataMember(Name = "timestamp")]
    public DateTime Timestamp { get; set; }
}

/// <summary>The argument of RobustHub's <c>SendMessage</c>. On the wire: <c>{ message }</c>.</summary>
[DataContract]
public sealed class MessageRequest
{
    [DataMember(Name = "message")]
    public string? Message { get; set; }
}

/// <summary>
/// What RobustHub returns instead of throwing. On the wire: <c>{ isSuccess, error, code }</c>;
/// <c>isSuccess</c> and <c>error</c> are the guide's, <c>code</c> is the stable error code of
/// <c>docs/protocol.md</c> (null on success).
/// </summary>
[DataContract]
public sealed class Result
{
    [DataMember(Name = "isSuccess")]
    public bool IsSuccess { get; set; }
    [DataMember(Name = "error")]
    public string? Error { get; set; }
    [DataMember(Name = "code")]
    public string? Code { get; set; }

    public static Result Success() => new() { IsSuccess = true };
    public static Result Failure(string error) => new() { Error = error };
    public static Result Failure(SwitchboardError error) => new() { Error = error.Message, Code = error.Code };
}

/// <summary>Progress and receipt of an <c>UploadStream</c>. On the wire: <c>{ items, characters }</c>.</summary>
[DataContract]
public sealed class UploadStatus
{
    public UploadStatus() { }
    public UploadStatus(long items, long characters) => (Items, Characters) = (items, characters);

    [DataMember(Name = "items")]
    public long Items { get; set; }
    [DataMember(Name = "characters")]
    public long Characters { get; set; }
}
