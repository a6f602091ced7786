"""What every HTTP handler shares: the resolver, problem documents, the route guard."""
