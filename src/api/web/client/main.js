document.getElementById("app").textContent = "Drost"
