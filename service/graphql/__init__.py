"""GraphQL for portals at ``/graphql``: the REST objects in one round trip, with DataLoaders so
a page of N people costs a constant number of SQL statements. Resolvers call the same
``service.py`` functions as REST, never the ORM."""

from .router import install

__all__ = ["install"]
