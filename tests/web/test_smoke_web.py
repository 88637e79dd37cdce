def test_login_and_index(browser):
    me = browser("viewer")
    response = me.get("/")
    assert response.status_code == 200
    assert "Databases" in response.get_data(as_text=True)
