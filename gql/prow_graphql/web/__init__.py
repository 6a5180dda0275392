"""Browser-facing pages: self-hosted GraphiQL, the live dashboard, and their static files.

Nothing here touches the GraphQL schema or the service: the pages are clients of `/graphql`
like any other.
"""

from prow_graphql.web.pages import dashboard_response, graphiql_response
from prow_graphql.web.routes import web_routes

__all__ = ["dashboard_response", "graphiql_response", "web_routes"]
