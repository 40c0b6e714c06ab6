"""identify: decides who is in the municipality's activity responsibility (skollagen 29 kap. 9 §).

Consumes the population feed, SS 12000 enrolments and school notifications; publishes
`YouthIdentified` / `YouthLeftScope`.
"""
