@contract
Feature: Authentication contract
  An API client exchanges its client credentials for a bearer token that lasts 15 minutes,
  and every other call must carry a valid bearer token.

  @sandbox_safe
  Scenario: Valid credentials return a bearer token that lasts 15 minutes
    When the API client requests a token with its credentials
    Then Fiskil answers with status 200
    And the answer matches the "token.json" schema
    And the token expires in 900 seconds

  @sandbox_safe
  Scenario: A wrong client secret is refused
    When the API client requests a token with a wrong client secret
    Then Fiskil answers with status 401
    And the answer is a Fiskil error

  @sandbox_safe
  Scenario: A call without a bearer token is unauthorised
    When the API client lists end users without a bearer token
    Then Fiskil answers with status 401
    And the answer is an error named "unauthorized"

  @sandbox_safe
  Scenario: A made-up bearer token is unauthorised
    When the API client lists end users with a made-up bearer token
    Then Fiskil answers with status 401
    And the answer is an error named "unauthorized"

  @fake_only
  Scenario: A token is refused once its 15 minutes are over
    Given the API client holds a bearer token
    When the fake's clock moves 901 seconds forward
    And the API client lists end users with that token
    Then Fiskil answers with status 401
    And the answer is an error named "unauthorized"
