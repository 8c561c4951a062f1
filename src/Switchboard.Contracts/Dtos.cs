namespace Switchboard.Contracts;

/// <summary>A notification pushed to clients (<c>ReceiveNotification</c>). On the wire: <c>{ message, timestamp }</c>.</summary>
public sealed class NotificationDto
{
    public string Message { get; set; } = "";
    public DateTime Timestamp { get; set; }
}

/// <summary>One price tick of <c>StreamStockPrices</c>. On the wire: <c>{ symbol, price, timestamp }</c>.</summary>
public sealed class StockPrice
{
    public string Symbol { get; set; } = "";
    public decimal Price { get; set; }
    public DateTime Timestamp { get; set; }
}

/// <summary>The argument of RobustHub's <c>SendMessage</c>. On the wire: <c>{ message }</c>.</summary>
public sealed class MessageRequest
{
    public string? Message { get; set; }
}

/// <summary>
/// What RobustHub returns instead of throwing. On the wire: <c>{ isSuccess, error, code }</c>;
/// <c>isSuccess</c> and <c>error</c> are the guide's, <c>code</c> is the stable error code of
/// <c>docs/protocol.md</c> (null on success).
/// </summary>
public sealed record Result(bool IsSuccess, string? Error = null, string? Code = null)
{
    public static Result Success() => new(true);
    public static Result Failure(string error) => new(false, error);
    public static Result Failure(SwitchboardError error) => new(false, error.Message, error.Code);
}

/// <summary>Progress and receipt of an <c>UploadStream</c>. On the wire: <c>{ items, characters }</c>.</summary>
public sealed record UploadStatus(int Items, long Characters);
