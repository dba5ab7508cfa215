"""Distributed mode (``[cluster] mode = "distributed"``): feed runs as jobs of a
procrastinate queue on the PostgreSQL database, deferred by one leading ``newsmon run``
and run by any number of ``newsmon worker`` processes on any number of machines.

  queue.py     the queue: procrastinate app, the crawl_feed job, its locks, its tables
  leader.py    the scheduler's side: leader lock with standby, deferring, dead workers' jobs
  worker.py    newsmon worker: jobs run on one long-lived reactor, handed back on SIGTERM
  listing.py   live workers and the queue's jobs, for newsmon workers and status
"""
