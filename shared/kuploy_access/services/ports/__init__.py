"""What the use cases need from the outside world, as protocols sized to the service
that uses them (one protocol per consumer; one adapter class may implement several).

Each port's docstring lists the exceptions it raises: adapters translate DynamoDB's
condition failures into those, and the fakes raise the very same classes. An exception
that belongs to a port lives in the port's module. Import each name from its module;
this package re-exports nothing. tests/contract/ runs each adapter and its fake through the
same cases.

The table of ports, their consumers, adapters, fakes and contract suites is in
docs/architecture.md ("Ports, adapters and fakes"), kept in one place.
"""
