using System.Globalization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Switchboard.Server.Api;

/// <summary>The <c>after</c> and <c>limit</c> query values of a history page, read by the handler and described in the OpenAPI document.</summary>
internal static class PagingQuery
{
    /// <summary>
    /// The value of <paramref name="name"/>: <paramref name="fallback"/> when absent, false when
    /// given more than once or not a whole number that fits.
    /// </summary>
    public static bool TryRead(IQueryCollection query, string name, long fallback, out long value)
    {
        var values = query[name];
        if (values.Count == 0)
        {
            value = fallback;
            return true;
        }
        value = 0;
        return values.Count == 1 && long.TryParse(values[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    public static RouteHandlerBuilder WithPagingQueryDescribed(this RouteHandlerBuilder builder) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Parameters ??= [];
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = "after",
                In = ParameterLocation.Query,
                Description = "The offset after which the page starts (0: from the first message retained). Default 0.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64", Minimum = "0" },
            });
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = "limit",
                In = ParameterLocation.Query,
                Description = "Messages in the page, at least 1; more than Switchboard:Recovery:MaxMessages (500) is served as that many. Default 100.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "1" },
            });
            return Task.CompletedTask;
        });
}
